// Phase 4 of the battery: the default two-command start (embedded DynamoDB Local on disk) takes
// a burst of 100 concurrent registrations and 100 concurrent likes of one post with no 5xx,
// and the counts are exact.
import { call, cleanup, countBy, sleep, startApp, tempDir } from './lib.mjs';

export async function burst({ size = 100 } = {}) {
  // All requests come from one loopback IP, so the per-IP registration limit (which would rightly
  // answer 429 to this burst) is turned off: the phase measures the database path, not the limiter.
  const app = await startApp({ DYNAMODB_EMBEDDED_DATA_DIR: tempDir('burst-data-'), REGISTER_RATE_MAX_PER_IP: '0' });
  const started = performance.now();
  const registrations = await Promise.all(
    Array.from({ length: size }, (_, i) =>
      call(app.base, 'POST', '/api/v1/auth/register', {
        body: { email: `burst-${i}-${Date.now()}@example.com`, password: 'password-1234' },
      }),
    ),
  );
  const registrationSeconds = (performance.now() - started) / 1000;
  const users = registrations.filter((r) => r.status === 201).map((r) => r.json);

  const author = users[0];
  const post = await call(app.base, 'POST', '/api/v1/posts', {
    token: author.accessToken,
    body: { title: 'Burst target', content: 'Liked by everyone at once.' },
  });
  const published = await call(app.base, 'POST', `/api/v1/posts/${post.json.id}/publish`, {
    token: author.accessToken,
    body: {},
  });
  if (published.status !== 200) throw new Error(`publish failed: ${published.status} ${published.text}`);
  const likeStarted = performance.now();
  const likes = await Promise.all(
    users.map((u) => call(app.base, 'PUT', `/api/v1/posts/${post.json.id}/like`, { token: u.accessToken })),
  );
  const likeSeconds = (performance.now() - likeStarted) / 1000;
  // A burst makes the post hot (LIKE_DIRECT_MAX_PER_SECOND): the likes past the first ten go to the
  // post's like shards, which the app's stream worker folds into its count within a poll or two.
  // So the count is read until it settles (30 s at most): exact means exact once folded.
  let after = await call(app.base, 'GET', `/api/v1/posts/${post.json.id}`);
  for (const deadline = Date.now() + 30_000; after.json?.likeCount !== users.length && Date.now() < deadline;) {
    await sleep(250);
    after = await call(app.base, 'GET', `/api/v1/posts/${post.json.id}`);
  }
  await app.stop();
  return {
    registrationStatuses: countBy(registrations.map((r) => r.status)),
    registrationSeconds,
    registrationP99Ms: Math.max(...registrations.map((r) => r.ms)),
    likeStatuses: countBy(likes.map((r) => r.status)),
    likeSeconds,
    likeCount: after.json?.likeCount,
    expectedLikes: users.length,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(await burst());
  } finally {
    await cleanup();
  }
}
