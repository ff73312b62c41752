// In-process micro benchmark of per-request work changed in sessions 10 and 15 (docs/performance.md):
// CPU per call of the access log before session 10 (pino-http alone) and of today's first
// middleware (request id, access log, metrics, Server-Timing and helmet's headers in one), and of
// serialising a front page, 5 interleaved rounds of 20,000 calls. `LEVEL=info` writes the access
// line (to a sink).
// Run after a build: node scripts/bench/micro-pipeline.mjs
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { pinoHttp } from 'pino-http';
import { requestContext } from '../../dist/http/request-context.middleware.js';
import { createAccessLog, createRootLogger, requestIdOf, scrubUrl } from '../../dist/logging/logger.js';
import { AppMetrics } from '../../dist/metrics/app-metrics.js';
import { routeOf } from '../../dist/metrics/http-metrics.middleware.js';

const sink = { write: () => undefined };
const LEVEL = process.env.LEVEL ?? 'warn';
const root = createRootLogger({ logLevel: 'warn', nodeEnv: 'test' }, { level: LEVEL, stream: sink });
// The access log before session 10: pino-http with the options the app passed it (commit 3c1d25e).
const old = pinoHttp({
  logger: root,
  genReqId: requestIdOf,
  customAttributeKeys: { reqId: 'requestId', responseTime: 'durationMs' },
  quietReqLogger: true,
  serializers: {
    req: (req) => ({
      method: req.method,
      url: scrubUrl(req.url),
      remoteAddress: req.remoteAddress,
      headers: req.headers,
    }),
    res: (res) => ({ statusCode: res.statusCode }),
  },
  customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
  customSuccessMessage: (req, res) => `${req.method} ${routeOf(req)} ${res.statusCode}`,
  customErrorMessage: (req, res) => `${req.method} ${routeOf(req)} ${res.statusCode}`,
  customSuccessObject: (req, _res, value) => ({ ...value }),
  customErrorObject: (req, _res, _error, value) => ({ ...value }),
});
const now = requestContext({ accessLog: createAccessLog(root), metrics: new AppMetrics(), serverTiming: true });
const headers = {
  host: '127.0.0.1:3000',
  connection: 'keep-alive',
  accept: '*/*',
  'accept-language': '*',
  'sec-fetch-mode': 'cors',
  'user-agent': 'node',
  'accept-encoding': 'gzip, deflate',
};
const makeReq = () => {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/api/v1/posts?limit=20';
  req.originalUrl = req.url;
  req.headers = { ...headers };
  return req;
};
const logOnce = (mw) => {
  const req = makeReq();
  const res = new ServerResponse(req);
  mw(req, res, () => undefined);
  res.emit('finish');
};
const base = () => {
  const req = makeReq();
  new ServerResponse(req);
};

const N = 20000;
const cpu = (fn) => {
  for (let i = 0; i < 2000; i++) fn();
  const b = process.cpuUsage();
  for (let i = 0; i < N; i++) fn();
  const u = process.cpuUsage(b);
  return (u.user + u.system) / N;
};
const cases = {
  'req+res objects only': base,
  'pino-http alone (before session 10)': () => logOnce(old),
  'requestContext (all of it)': () => logOnce(now),
};
const runs = {};
for (let r = 0; r < 5; r++) for (const [k, fn] of Object.entries(cases)) (runs[k] ??= []).push(cpu(fn));
// A feed page of 20 summaries shaped like the API's (about 700 bytes each).
const page = {
  items: Array.from({ length: 20 }, (_, i) => ({
    id: `p${i}`.padEnd(21, 'x'),
    slug: `a-post-title-${i}`,
    title: `A post title ${i}`,
    excerpt: 'A sentence of a realistic post body. '.repeat(8),
    status: 'published',
    author: { id: 'u'.padEnd(21, 'x'), displayName: 'An author' },
    tags: [{ id: 't'.padEnd(21, 'x'), name: 'Bench', slug: 'bench' }],
    category: null,
    likeCount: 3,
    commentCount: 1,
    viewCount: 10,
    publishedAt: '2026-11-26T20:00:00.000Z',
    createdAt: '2026-11-26T20:00:00.000Z',
    updatedAt: '2026-11-26T20:00:00.000Z',
    version: 2,
  })),
  nextCursor: 'eyJhIjoiYiJ9',
};
for (let r = 0; r < 5; r++) (runs['JSON.stringify of the front page'] ??= []).push(cpu(() => JSON.stringify(page)));
const med = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const [k, v] of Object.entries(runs))
  console.log(`${k.padEnd(36)} ${med(v).toFixed(1)} µs (${Math.min(...v).toFixed(1)}-${Math.max(...v).toFixed(1)})`);
