// The "bare" variant of our app (`BENCH_PEER_BARE=1 npm run bench:peer`, docs/performance.md, "Session 23:
// the floor"): the app's own services and data layer, built from dist/ as Nest's injector builds them
// (`NestFactory.createApplicationContext` of the same AppModule and configuration as `dist/main.js`), behind
// a bare `node:http` server that serves only the bench's routes. Each route parses the JSON body (or the
// query), calls the same service methods as the controller, with the same access-token verification
// (`AccessTokenVerifier.verify`, the global guard's work) and the same content-write budget
// (`RateLimiter.consume`, ContentWriteGuard's work) on the like, shapes the answer with the same mappers
// and `JSON.stringify`s it. No Express, no Nest router, pipes (so no class-validator or class-transformer),
// guards, interceptors, filters, middleware, access log, HTTP metrics or Server-Timing: what a request
// costs in this process is what our services and data layer cost, whatever HTTP layer serves them.
//
// Started as `dist/main.js` is (scripts/reliability/lib.mjs's `startApp`, with `main` this file): the same
// environment (PORT, HOST, the DynamoDB settings, ...). Routes:
//   GET    /health/live                         {"status":"ok"} (start-up probe)
//   GET    /api/v1/posts?limit=&cursor=&tag=&category=&author=    PostsController.feed
//   GET    /api/v1/posts/:id                    PostsController.get (a bearer token is verified when sent)
//   PUT    /api/v1/posts/:id/like               PostsController.like (bearer token required)
//   DELETE /api/v1/posts/:id/like               PostsController.unlike
//   POST   /api/v1/auth/login                   AuthController.login
//   POST   /api/v1/auth/register                AuthController.register
//   GET    /__bare/calls                        the DynamoDB calls this process has made so far (the bench's
//                                               check that each route makes the same calls as the full
//                                               app's) and the commands recorded since /__bare/record (V8's
//                                               serialization, base64); stops recording
//   POST   /__bare/record                       starts recording the calls' commands and inputs (off by
//                                               default: the measured rounds record nothing)
// A DomainError is answered with its status and a problem+json body (its code and detail); anything else 500.
import 'reflect-metadata';
import { createServer } from 'node:http';
import { serialize } from 'node:v8';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../dist/app.module.js';
import { AccessTokenVerifier } from '../../dist/auth/access-token.verifier.js';
import { AuthService } from '../../dist/auth/auth.service.js';
import { CLOCK } from '../../dist/common/clock/clock.js';
import { DEFAULT_PAGE_SIZE } from '../../dist/common/dto/page-query.dto.js';
import { DomainError } from '../../dist/common/errors/domain-error.js';
import { loadConfig } from '../../dist/config/app-config.js';
import { APP_CONFIG } from '../../dist/config/config.constants.js';
import { prepareDatabase } from '../../dist/dynamo/database-bootstrap.js';
import { addCallHook } from '../../dist/dynamo/dynamo-client.factory.js';
import { DYNAMODB_CLIENT } from '../../dist/dynamo/dynamo.constants.js';
import { RateLimiter } from '../../dist/dynamo/rate-limiter.js';
import { etagOf } from '../../dist/http/etag.js';
import { AppLogger } from '../../dist/logging/app-logger.js';
import { createRootLogger } from '../../dist/logging/logger.js';
import { PostMapper } from '../../dist/posts/post.mapper.js';
import { PostsService } from '../../dist/posts/posts.service.js';
import { UserMapper } from '../../dist/users/user.mapper.js';
import { UsersService } from '../../dist/users/users.service.js';

const BEARER = /^Bearer[ \t]+(\S+)$/i;
const PREFIX = '/api/v1';

const config = loadConfig();
const database = await prepareDatabase(config, undefined, 'app');
const context = await NestFactory.createApplicationContext(AppModule.forRoot(database.config), {
  logger: new AppLogger(createRootLogger(database.config)),
});
await context.init();

const get = (token) => context.get(token, { strict: false });
const posts = get(PostsService);
const users = get(UsersService);
const auth = get(AuthService);
const verifier = get(AccessTokenVerifier);
const limiter = get(RateLimiter);
const clock = get(CLOCK);
const appConfig = get(APP_CONFIG);

// Every call of the app's client (both transports) is counted; with recording on, its command and input too.
const calls = { count: 0, recording: false, recorded: [] };
addCallHook(get(DYNAMODB_CLIENT), (command, input) => {
  calls.count++;
  if (calls.recording) calls.recorded.push({ command, input: structuredClone(input) });
});

/** As the auth controller's `toTokens`. */
const toTokens = (issued) => ({
  accessToken: issued.accessToken,
  refreshToken: issued.refreshToken,
  tokenType: issued.tokenType,
  expiresIn: issued.expiresIn,
  user: UserMapper.toMe(issued.user),
});

/** As the controllers' `clientOf` (`req.ip`: the peer's address, no proxy in front here). */
const clientOf = (req) => ({ ip: req.socket.remoteAddress, userAgent: req.headers['user-agent'] });

/** As JwtAuthGuard: undefined without a header where the route allows it, else the verified user. */
async function viewerOf(req, required) {
  const header = req.headers.authorization;
  if (header === undefined) {
    if (!required) return undefined;
    throw new DomainError(401, 'missing_token', 'A bearer token is required.');
  }
  const token = BEARER.exec(header)?.[1];
  if (!token) throw new DomainError(401, 'invalid_token', 'Send the access token as `Authorization: Bearer <token>`.');
  return verifier.verify(token);
}

/** As ContentWriteGuard, after the guard: staff are exempt, others count against the content budget. */
async function contentWrite(user) {
  if (user.role === 'admin' || user.role === 'moderator') return;
  await limiter.consume([{ rule: appConfig.rateLimits.contentPerAccount, subject: user.userId }]);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

const send = (res, status, body, headers = {}) => {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
};

/** One request: the route's work, as its controller method does it. */
async function route(req, res) {
  const url = new URL(req.url, 'http://bare');
  const path = url.pathname;
  const method = req.method;
  if (path === '/health/live') return send(res, 200, { status: 'ok' });
  if (path === '/__bare/calls') {
    // The recorded inputs as V8 serializes them (base64), so that Sets and bytes survive the trip.
    const answer = { count: calls.count, recorded: serialize(calls.recorded).toString('base64') };
    calls.recording = false;
    calls.recorded = [];
    return send(res, 200, answer);
  }
  if (path === '/__bare/record' && method === 'POST') {
    calls.recording = true;
    calls.recorded = [];
    return send(res, 204);
  }
  if (path === `${PREFIX}/posts` && method === 'GET') {
    const q = url.searchParams;
    const query = {
      category: q.get('category') ?? undefined,
      tag: q.get('tag') ?? undefined,
      author: q.get('author') ?? undefined,
    };
    const limit = q.has('limit') ? Number(q.get('limit')) : DEFAULT_PAGE_SIZE;
    const read = posts.feed(query, limit, q.get('cursor') ?? undefined);
    const page = await (query.author === undefined ? read : users.pageOfShown(query.author, read));
    return send(res, 200, {
      items: page.items.map((post) => PostMapper.summary(post, clock.now())),
      nextCursor: page.nextCursor,
    });
  }
  const like = /^\/api\/v1\/posts\/([^/]+)\/like$/.exec(path);
  if (like && (method === 'PUT' || method === 'DELETE')) {
    const viewer = await viewerOf(req, true);
    await contentWrite(viewer);
    return send(res, 200, await posts.setLike(like[1], viewer, method === 'PUT'));
  }
  const one = /^\/api\/v1\/posts\/([^/]+)$/.exec(path);
  if (one && method === 'GET') {
    const viewer = await viewerOf(req, false);
    const read = await posts.get(one[1], viewer);
    return send(res, 200, PostMapper.full(read.post, viewer ? read.likedByViewer : undefined, clock.now()), {
      etag: etagOf(read.post.version),
    });
  }
  if (path === `${PREFIX}/auth/login` && method === 'POST') {
    const dto = await readJson(req);
    return send(res, 200, toTokens(await auth.login(dto.email, dto.password, clientOf(req))));
  }
  if (path === `${PREFIX}/auth/register` && method === 'POST') {
    const dto = await readJson(req);
    return send(res, 201, toTokens(await auth.register(dto, clientOf(req))));
  }
  return send(res, 404, { status: 404, code: 'route_not_found', detail: `${method} ${path}` });
}

const server = createServer((req, res) => {
  route(req, res).catch((error) => {
    if (res.headersSent) return res.destroy(error);
    if (error instanceof DomainError)
      return send(
        res,
        error.status,
        { status: error.status, code: error.code, detail: error.message },
        {
          'content-type': 'application/problem+json',
        },
      );
    console.error(error);
    send(res, 500, { status: 500, code: 'internal_error' });
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '127.0.0.1');

const shutdown = () => {
  server.close();
  server.closeAllConnections();
  void context
    .close()
    .then(() => database.stop())
    .finally(() => process.exit(0));
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
