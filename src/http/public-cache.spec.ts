import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { PostsController } from '../posts/posts.controller.js';
import { CategoriesController } from '../taxonomy/categories.controller.js';
import express, { type Express } from 'express';
import { createServer } from 'node:http';
import request from 'supertest';
import { listenLocally } from '../../test/helpers/servers.js';
import { systemClock } from '../common/clock/clock.js';
import {
  checkPublicCacheRoutes,
  mountPublicCache,
  publicCache,
  publicCachePaths,
  takesWholeQuery,
} from './public-cache.interceptor.js';
import { Controller, Get, Param, Query } from '@nestjs/common';
import { NoQueryDto } from '../common/dto/no-query.dto.js';

describe('@PublicCache()', () => {
  // Each app on a server of its own, closed (connections and all) after its test: supertest's
  // server per request was still closing when Jest reported the file.
  const closers: (() => Promise<void>)[] = [];
  afterEach(() => Promise.all(closers.splice(0).map((close) => close())));
  async function onServer(app: Express): Promise<string> {
    const { url, close } = await listenLocally(createServer(app));
    closers.push(close);
    return url;
  }

  it('lists the marked routes with the paths Nest gives them under the prefix', () => {
    expect([...publicCachePaths('api/v1')].sort()).toEqual([
      '/api/v1/categories',
      '/api/v1/posts',
      '/api/v1/posts/:id',
      '/api/v1/posts/by-slug/:slug',
    ]);
  });

  it('finds a @Query() DTO on every marked route, and none on a route that ignores its query (review 19a M4)', () => {
    for (const [controller, name] of [
      [PostsController, 'feed'],
      [PostsController, 'get'],
      [PostsController, 'bySlug'],
      [CategoriesController, 'tree'],
    ] as const) {
      expect({ name, checked: takesWholeQuery(controller, name) }).toEqual({ name, checked: true });
    }
    @Controller('loose')
    class Loose {
      @Get()
      ignores(): object {
        return {};
      }
      @Get(':id')
      oneParameter(@Param('id') _id: string, @Query('limit') _limit: string): object {
        return {};
      }
      @Get('untyped/:id')
      untyped(@Query() _query: object): object {
        return {};
      }
      @Get('typed/:id')
      typed(@Query() _query: NoQueryDto): object {
        return {};
      }
    }
    expect(['ignores', 'oneParameter', 'untyped', 'typed'].map((name) => takesWholeQuery(Loose, name))).toEqual([
      false,
      false,
      false,
      true,
    ]);
  });

  it('binds no Nest interceptor: a route pays for the cache only where it is mounted, when enabled', () => {
    const marked: [{ prototype: object }, string][] = [
      [PostsController, 'feed'],
      [PostsController, 'get'],
      [PostsController, 'bySlug'],
      [CategoriesController, 'tree'],
    ];
    for (const [controller, name] of marked) {
      const handler = Object.getOwnPropertyDescriptor(controller.prototype, name)?.value as object;
      expect(handler).toBeInstanceOf(Function);
      expect(Reflect.getMetadata(INTERCEPTORS_METADATA, handler)).toBeUndefined();
    }
  });

  it('keeps a map per route: many distinct feed pages do not push another route out', async () => {
    const cacheFor = publicCache(60, systemClock, 3);
    const app = express();
    const served = { feed: 0, tree: 0 };
    app.get('/feed', cacheFor('/feed'), (_req, res) => void res.json({ feed: ++served.feed }));
    app.get('/tree', cacheFor('/tree'), (_req, res) => void res.json({ tree: ++served.tree }));
    const api = await onServer(app);
    await request(api).get('/tree').expect(200, { tree: 1 });
    for (let page = 0; page <= 3; page++) await request(api).get(`/feed?cursor=${page}`).expect(200);
    expect(served.feed).toBe(4);
    await request(api).get('/tree').expect(200, { tree: 1 }); // still the cached answer
    await request(api).get('/feed?cursor=0').expect(200, { feed: 5 }); // the oldest page went
  });

  it('never keeps an answer computed for a signed-in caller, even on a route taken for token-blind (review 17a M1)', async () => {
    const cacheFor = publicCache(60, systemClock);
    const app = express();
    let served = 0;
    // A route marked public that authenticates on its own, as the Conduit routes do: its guard sets req.user.
    const ownGuard: express.RequestHandler = (req, _res, next) => {
      if (req.headers.authorization) (req as { user?: unknown }).user = { userId: 'alice' };
      next();
    };
    app.get('/page', cacheFor('/page', true), ownGuard, (req, res) => {
      const user = (req as { user?: { userId: string } }).user;
      res.json({ served: ++served, for: user?.userId ?? 'anyone' });
    });
    const api = await onServer(app);
    await request(api).get('/page').set('Authorization', 'Token alice').expect(200, { served: 1, for: 'alice' });
    // Alice's answer was not kept: the next anonymous reader gets their own, which is kept.
    await request(api).get('/page').expect(200, { served: 2, for: 'anyone' });
    await request(api).get('/page').expect(200, { served: 2, for: 'anyone' });
  });

  describe('the start-up check of the mounted cache', () => {
    const routes = (app: Express): void => {
      for (const path of publicCachePaths('api/v1')) app.get(path, (_req, res) => void res.json({}));
    };

    it('passes with the cache in front of every route', () => {
      const app = express();
      mountPublicCache(app, 'api/v1', 5, systemClock);
      routes(app);
      expect(() => checkPublicCacheRoutes(app, 'api/v1')).not.toThrow();
    });

    it('fails when a route is missing', () => {
      const app = express();
      mountPublicCache(app, 'api/v1', 5, systemClock);
      expect(() => checkPublicCacheRoutes(app, 'api/v1')).toThrow(/is not a route of the app/);
    });

    it('fails when the cache sits behind the routes, where it would never answer', () => {
      const app = express();
      routes(app);
      mountPublicCache(app, 'api/v1', 5, systemClock);
      expect(() => checkPublicCacheRoutes(app, 'api/v1')).toThrow(/has no cache in front of it/);
    });
  });
});
