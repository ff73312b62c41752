// The app-CPU benches' common fixture and operations (`bench:profile`, `ab-cpu.mjs`): twenty published
// posts with three tags and 32 signed-in readers, and the requests each operation sends, so that the
// two tools measure the same thing.
//
// Two sign-in operations (docs/performance.md says what each measures):
// - `login`: the common case, a user below MAX_SESSIONS_PER_USER. Each request signs in the next user
//   of a pool (round robin, so 16 callers never race for one user), none more than LOGINS_PER_USER
//   times counting its registration's session: the session transaction raises the sign-in item's
//   bound and nothing else is read or deleted (3 calls).
// - `login-at-cap`: 16 users already holding SESSION_CAP sessions (signed in that often by the
//   fixture), so that every measured sign-in counts its sessions (one Query) and evicts the oldest
//   in its transaction (4 calls). Before session 17 this was the benches' only "login".
import { call, register } from '../reliability/lib.mjs';
import { SESSION_CAP } from './peer-env.mjs';

export const OPERATIONS = ['list', 'post', 'like', 'login', 'login-at-cap', 'register', 'user', 'live'];
/** Sign-ins per user of the `login` pool at most, the registration's session included: well below SESSION_CAP. */
export const LOGINS_PER_USER = 8;
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
export const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password-1' };
const PASSWORD = 'password-1234';
const BODY = 'A sentence of a realistic post body, long enough to matter. '.repeat(17).slice(0, 1000);
/** The first answers that failed, for the error `drive` throws. */
const failures = [];
/** The `Server-Timing` accounting of the last successful answer, for `lastCost()`. */
let lastTiming = '';

/** DynamoDB calls / RCU / WCU of the last successful request an operation sent (its `Server-Timing`). */
export function lastCost() {
  const m = /calls=(\d+) rcu=([\d.]+) wcu=([\d.]+)/.exec(lastTiming);
  return m ? `${m[1]} calls / ${m[2]} RCU / ${m[3]} WCU` : 'no Server-Timing';
}

const must = (res, what) => {
  if (res.status < 200 || res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
};

/**
 * Users enough for `logins` sign-ins of `login` below the cap, registered 16 at a time. The pool's
 * `next` counts sign-ins across batches (each `drive` numbers its requests from 0 again).
 */
export async function signInPool(base, logins, registerUser = (i) => register(base, `signer${i}`)) {
  const size = Math.ceil(logins / (LOGINS_PER_USER - 1));
  const users = [];
  for (let i = 0; i < size; i += 16)
    users.push(...(await Promise.all(Array.from({ length: Math.min(16, size - i) }, (_, k) => registerUser(i + k)))));
  return { users, next: 0 };
}

/** The pool's next user; throws rather than take one to the cap. */
export function nextSignIn(pool) {
  const k = pool.next++;
  if (k >= pool.users.length * (LOGINS_PER_USER - 1))
    throw new Error(`the sign-in pool of ${pool.users.length} users is used up after ${k} sign-ins`);
  return pool.users[k % pool.users.length];
}

/** Signs each of `emails` in until it holds SESSION_CAP sessions (its registration's one included). */
export async function fillToCap(base, emails) {
  for (let n = 1; n < SESSION_CAP; n++)
    await Promise.all(
      emails.map(async (email) =>
        must(await call(base, 'POST', '/api/v1/auth/login', { body: { email, password: PASSWORD } }), 'fill to cap'),
      ),
    );
}

/**
 * Twenty published posts with three tags, and 32 signed-in readers; with `login` among `ops`, a
 * sign-in pool for `logins` requests; with `login-at-cap`, readers 16-31 signed in to the cap.
 */
export async function fixture(base, { ops = [], logins = 0 } = {}) {
  const admin = must(await call(base, 'POST', '/api/v1/auth/login', { body: ADMIN }), 'admin sign-in');
  const tagIds = [];
  for (const name of ['benchmarks', 'databases', 'nestjs'])
    tagIds.push(must(await call(base, 'POST', '/api/v1/tags', { token: admin.accessToken, body: { name } }), 'tag').id);
  const author = await register(base, 'bench-author');
  const postIds = [];
  for (let i = 0; i < 20; i++) {
    const post = must(
      await call(base, 'POST', '/api/v1/posts', {
        token: author.token,
        body: { title: `Post ${i}`, content: BODY, tagIds },
      }),
      'create post',
    );
    must(await call(base, 'POST', `/api/v1/posts/${post.id}/publish`, { token: author.token }), 'publish');
    postIds.push(post.id);
  }
  const readers = [];
  for (let i = 0; i < 32; i++) {
    const email = `reader${i}-${Date.now()}@example.com`;
    const res = must(
      await call(base, 'POST', '/api/v1/auth/register', { body: { email, password: PASSWORD } }),
      'reader',
    );
    readers.push({ email, token: res.accessToken, userId: res.user.id });
  }
  const signIns = ops.includes('login') ? await signInPool(base, logins) : undefined;
  if (ops.includes('login-at-cap'))
    await fillToCap(
      base,
      readers.slice(16).map((reader) => reader.email),
    );
  return { author, postIds, readers, signIns };
}

export function operation(name, base, { author, postIds, readers, signIns }) {
  const ok = (res) => {
    if (res.status >= 200 && res.status < 300) {
      lastTiming = res.headers.get('server-timing') ?? '';
      return true;
    }
    if (failures.length < 5) failures.push(`${res.status} ${res.text.slice(0, 200)}`);
    return false;
  };
  const post = (i) => postIds[i % 16];
  switch (name) {
    case 'list':
      return async () => ok(await call(base, 'GET', '/api/v1/posts?limit=20'));
    case 'post':
      return async (i) => ok(await call(base, 'GET', `/api/v1/posts/${post(i)}`));
    case 'live':
      return async () => ok(await call(base, 'GET', '/health/live'));
    case 'user':
      return async () => ok(await call(base, 'GET', `/api/v1/users/${author.userId}`));
    case 'like': {
      const step = likeStep(readers);
      return (i) =>
        step(i, (liked, reader, p) =>
          call(base, liked ? 'PUT' : 'DELETE', `/api/v1/posts/${post(p)}/like`, { token: readers[reader].token }).then(
            ok,
          ),
        );
    }
    case 'login':
      if (!signIns) throw new Error("the fixture has no sign-in pool: pass ops: ['login'] and logins");
      return async () =>
        ok(
          await call(base, 'POST', '/api/v1/auth/login', {
            body: { email: nextSignIn(signIns).email, password: PASSWORD },
          }),
        );
    case 'login-at-cap':
      return async (i) =>
        ok(
          await call(base, 'POST', '/api/v1/auth/login', {
            body: { email: readers[16 + (i % 16)].email, password: PASSWORD },
          }),
        );
    case 'register':
      return async (i) =>
        ok(
          await call(base, 'POST', '/api/v1/auth/register', {
            body: { email: `r${i}-${Date.now()}@example.com`, password: PASSWORD },
          }),
        );
    default:
      throw new Error(`unknown operation ${name}: one of ${OPERATIONS.join(', ')}`);
  }
}

/** Each reader's like schedule, kept across batches (the warm-up, then each measured batch). */
const likeStates = new WeakMap();

/**
 * The like operation's schedule, the same on both sides of `bench:peer`: request i is reader
 * i % 16's, and each reader alternates like, unlike, like, ... on post 0, 0, 1, 1, ... (mod 16),
 * one request at a time: a reader's next request waits for its previous one (kept across batches,
 * by `readers`). So every like finds the post not liked by the reader and every unlike finds it
 * liked. Before, request 2k liked and 2k+1 unliked at once: 10-20 % of the unlikes found no like
 * yet, by timing, and cost one or two calls more. `send(like, reader, post)` sends one request and
 * answers whether it succeeded.
 */
export function likeStep(readers) {
  let states = likeStates.get(readers);
  if (!states) {
    states = Array.from({ length: 16 }, () => ({ sent: 0, previous: Promise.resolve() }));
    likeStates.set(readers, states);
  }
  return (i, send) => {
    const reader = i % 16;
    const state = states[reader];
    const n = state.sent++;
    const done = state.previous.then(() => send(n % 2 === 0, reader, Math.floor(n / 2) % 16));
    state.previous = done.catch(() => undefined);
    return done;
  };
}

export async function drive(task, count) {
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) if ((await task(next++)) === false) failed++;
    }),
  );
  if (failed) throw new Error(`${failed} of ${count} requests failed, the first: ${failures.splice(0).join(' | ')}`);
}
