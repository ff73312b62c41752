// `node scripts/bench/framework-floor.mjs <dir>`: the framework floor, Express 5 against Fastify 5, bare
// and under NestJS 12 (session 18, docs/performance.md). Four minimal servers answer GET /health/live
// ({"status":"ok"}) and GET /list (a fixed page of 20 summaries, 16 KB of JSON); each one's app CPU per
// request (utime + stime of its process, as bench:profile and ab-cpu.mjs measure it) over a fixed
// number of requests at 16 callers, in alternating batches: the servers in the order A B C D in even
// rounds, D C B A in odd ones. With `--ours`, the built app (dist/) joins them on its own DynamoDB
// Local, with bench:profile's fixture, environment and operations (live, list, post; like and login
// with FLOOR_OURS_OPS), as the anchor that says where our figures sit on the same machine at that time.
//
// Fastify and @nestjs/platform-fastify are not the project's dependencies: `<dir>` is a scratch
// directory that has them and the rest at the project's versions, e.g.
//   npm install --prefix /tmp/floor @nestjs/core@12.5.1 @nestjs/common@12.5.1 \
//     @nestjs/platform-express@12.5.1 @nestjs/platform-fastify@12.5.0 fastify@5 express@5.3.0 \
//     reflect-metadata@0.2.2 rxjs@7.8.2
// and every framework package is loaded from there (the servers never mix two copies of Nest).
//   FLOOR_ROUNDS=8  FLOOR_LIVE=3000  FLOOR_LIST=2000  FLOOR_CONCURRENCY=16  (ours: post as live,
//   FLOOR_LIKE=1500, FLOOR_LOGIN=500; FLOOR_OURS_OPS=live,list,post)
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const KINDS = ['express', 'fastify', 'nest-express', 'nest-fastify'];
const LIVE = { status: 'ok' };
const WORDS = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore';
const LIST = {
  items: Array.from({ length: 20 }, (_, i) => ({
    id: `p${String(i).padStart(20, '0')}`,
    slug: `a-post-about-${i}-${WORDS.split(' ').slice(0, 5).join('-')}`,
    title: `A post about ${WORDS.slice(0, 40)} ${i}`,
    summary: `${WORDS} ${WORDS} ${WORDS} ${WORDS}`.slice(0, 300),
    status: 'published',
    author: { id: `u${String(i).padStart(20, '0')}`, username: `author${i}`, displayName: `Author ${i}` },
    tags: ['tag-one', 'tag-two', 'tag-three'],
    categoryId: 'c00000000000000000001',
    publishedAt: '2026-11-27T12:00:00.000Z',
    updatedAt: '2026-11-27T12:00:00.000Z',
    viewCount: 1234 + i,
    likeCount: 56 + i,
    commentCount: 7 + i,
    readingMinutes: 4,
  })),
  nextCursor: 'eyJQSyI6IlBPU1QjMDAwMDAwMDAwMDAwMDAwMDAwMDAxOSIsIlNLIjoiU1VNTUFSWSJ9',
};

/** The server side: `framework-floor.mjs --serve <kind> <dir>` prints `PORT <n>` once it listens. */
async function serve(kind, dir) {
  const load = createRequire(resolve(dir, 'package.json'));
  load('reflect-metadata');
  let port;
  if (kind === 'express') {
    const app = load('express')();
    app.get('/health/live', (_req, res) => res.json(LIVE));
    app.get('/list', (_req, res) => res.json(LIST));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((done) => server.once('listening', done));
    port = server.address().port;
  } else if (kind === 'fastify') {
    const app = load('fastify')({ logger: false });
    app.get('/health/live', async () => LIVE);
    app.get('/list', async () => LIST);
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = app.server.address().port;
  } else {
    const { Controller, Get, Module } = load('@nestjs/common');
    const { NestFactory } = load('@nestjs/core');
    // Decorators applied as TypeScript emits them (plain JavaScript, no build step).
    class HealthController {
      live() {
        return LIVE;
      }
    }
    class ListController {
      list() {
        return LIST;
      }
    }
    const method = (cls, name, decorator) =>
      Reflect.decorate([decorator], cls.prototype, name, Object.getOwnPropertyDescriptor(cls.prototype, name));
    method(HealthController, 'live', Get('live'));
    method(ListController, 'list', Get());
    Reflect.decorate([Controller('health')], HealthController);
    Reflect.decorate([Controller('list')], ListController);
    class AppModule {}
    Reflect.decorate([Module({ controllers: [HealthController, ListController] })], AppModule);
    const adapter = kind === 'nest-fastify' ? [new (load('@nestjs/platform-fastify').FastifyAdapter)()] : [];
    const app = await NestFactory.create(AppModule, ...adapter, { logger: false });
    await app.listen(0, '127.0.0.1');
    port = app.getHttpServer().address().port;
  }
  console.log(`PORT ${port}`);
}

const ROUNDS = Number(process.env.FLOOR_ROUNDS ?? 8);
const CONCURRENCY = Number(process.env.FLOOR_CONCURRENCY ?? 16);
const live = Number(process.env.FLOOR_LIVE ?? 3000);
const COUNTS = {
  live,
  list: Number(process.env.FLOOR_LIST ?? 2000),
  post: live,
  like: Number(process.env.FLOOR_LIKE ?? 1500),
  login: Number(process.env.FLOOR_LOGIN ?? 500),
};
const OURS_OPS = (process.env.FLOOR_OURS_OPS ?? 'live,list,post').split(',');

const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const cpuSeconds = (pid) => {
  const line = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = line.slice(line.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// As the project's driver (`call` in scripts/reliability/lib.mjs): fetch, read the text, parse it.
async function get(url) {
  const res = await fetch(url);
  JSON.parse(await res.text());
  return res.status === 200;
}

async function drive(task, count) {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) if ((await task(next++)) === false) failed++;
    }),
  );
  if (failed) throw new Error(`${failed} of ${count} requests failed`);
}

async function startBare(kind, dir) {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve', kind, dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((done, fail) => {
    child.stdout.on('data', (data) => {
      const m = /PORT (\d+)/.exec(String(data));
      if (m) done(Number(m[1]));
    });
    child.once('exit', (code) => fail(new Error(`${kind} exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  return {
    kind,
    pid: child.pid,
    stop: () => child.kill(),
    tasks: { live: () => get(`${base}/health/live`), list: () => get(`${base}/list`) },
  };
}

async function startOurs() {
  const { startApp, startEngine } = await import('../reliability/lib.mjs');
  const { ADMIN, fixture, operation } = await import('./operations.mjs');
  const { peerComparisonEnv } = await import('./peer-env.mjs');
  const engine = await startEngine({});
  const app = await startApp(
    peerComparisonEnv({ endpoint: engine.endpoint, tableName: 'bench', bcryptCost: 4, admin: ADMIN }),
  );
  const data = await fixture(app.base, { ops: OURS_OPS, logins: (ROUNDS + 1) * COUNTS.login + 50 });
  const tasks = Object.fromEntries(OURS_OPS.map((op) => [op, operation(op, app.base, data)]));
  return { kind: 'ours', pid: app.child.pid, stop: app.stop, tasks };
}

async function measure(dir, withOurs) {
  const servers = [];
  const { cleanup } = await import('../reliability/lib.mjs');
  try {
    for (const kind of KINDS) servers.push(await startBare(kind, dir));
    if (withOurs) servers.push(await startOurs());
    for (const s of servers)
      for (const [route, task] of Object.entries(s.tasks)) await drive(task, Math.min(500, COUNTS[route])); // warm-up
    const figures = Object.fromEntries(
      servers.map((s) => [s.kind, Object.fromEntries(Object.keys(s.tasks).map((route) => [route, []]))]),
    );
    console.log(
      `${ROUNDS} rounds at ${CONCURRENCY} callers, requests a batch ${JSON.stringify(COUNTS)}; load ${loadavg()} at ${new Date().toISOString()}`,
    );
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...servers].reverse() : servers;
      const line = [];
      for (const s of order)
        for (const [route, task] of Object.entries(s.tasks)) {
          const before = cpuSeconds(s.pid);
          await drive(task, COUNTS[route]);
          const ms = ((cpuSeconds(s.pid) - before) * 1000) / COUNTS[route];
          figures[s.kind][route].push(ms);
          line.push(`${s.kind} ${route} ${ms.toFixed(3)}`);
        }
      console.log(`round ${round + 1}: ${line.join(', ')}; load ${loadavg()} at ${new Date().toISOString()}`);
    }
    console.log('\nms of app CPU per request, median (min-max) of the rounds:');
    for (const [kind, routes] of Object.entries(figures))
      console.log(
        `  ${kind.padEnd(13)} ${Object.entries(routes)
          .map(
            ([route, xs]) =>
              `${route} ${median(xs).toFixed(3)} (${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)})`,
          )
          .join('  ')}`,
      );
  } finally {
    for (const s of servers) await s.stop();
    await cleanup();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--serve') await serve(args[1], args[2]);
else {
  const dir = args.find((arg) => !arg.startsWith('--'));
  if (!dir) throw new Error('usage: framework-floor.mjs <dir with fastify and Nest installed> [--ours]');
  await measure(dir, args.includes('--ours'));
}
