import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { PostsController } from '../posts/posts.controller.js';
import { CategoriesController } from '../taxonomy/categories.controller.js';
import { publicCachePaths } from './public-cache.interceptor.js';

describe('@PublicCache()', () => {
  it('lists the marked routes with the paths Nest gives them under the prefix', () => {
    expect([...publicCachePaths('api/v1')].sort()).toEqual([
      '/api/v1/categories',
      '/api/v1/posts',
      '/api/v1/posts/:id',
      '/api/v1/posts/by-slug/:slug',
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
});
