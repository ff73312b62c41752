// The app-CPU benches' common fixture and operations (`bench:profile`, `ab-cpu.mjs`): twenty published
// posts with three tags and 32 signed-in readers, and the requests each operation sends, so that the
// two tools measure the same thing.
import { call, register } from '../reliability/lib.mjs';

export const OPERATIONS = ['list', 'post', 'like', 'login', 'register', 'user', 'live'];
export const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
export const ADMIN = { email: 'bench-admin@example.com', password: 'bench-admin-password-1' };
const PASSWORD = 'password-1234';
const BODY = 'A sentence of a realistic post body, long enough to matter. '.repeat(17).slice(0, 1000);
/** The first answers that failed, for the error `drive` throws. */
const failures = [];

const must = (res, what) => {
  if (res.status < 200 || res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text.slice(0, 300)}`);
  return res.json;
};

/** Twenty published posts with three tags, and 32 signed-in readers. */
export async function fixture(base) {
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
  return { author, postIds, readers };
}

export function operation(name, base, { author, postIds, readers }) {
  const ok = (res) => {
    if (res.status >= 200 && res.status < 300) return true;
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
    case 'like':
      return async (i) => {
        const k = Math.floor(i / 2);
        const path = `/api/v1/posts/${post(Math.floor(k / 16))}/like`;
        return ok(await call(base, i % 2 ? 'DELETE' : 'PUT', path, { token: readers[k % 16].token }));
      };
    case 'login':
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
