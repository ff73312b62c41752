// Phases 2 and 3 of the battery: the engine frozen (SIGSTOP) for 10 s under load, then killed
// and restarted on the same data under load. Only 2xx and 503 may come back, each 503 within the
// configured deadline plus 10 %, and the app must recover without a restart.
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { call, countBy, register, sleep, startEngine } from './lib.mjs';

/** The like shards of a post (src/dynamo/sharding.ts, LIKE_SHARDS). */
const LIKE_SHARDS = 16;

/** Light, steady load: reads of a post and like/unlike toggles by a few users. */
function startLoad(base, users, postId) {
  const results = [];
  let running = true;
  const workers = users.map(async (user, i) => {
    let liked = false;
    while (running) {
      const res =
        i % 2 === 0
          ? await call(base, 'GET', `/api/v1/posts/${postId}`, { timeoutMs: 30000 })
          : await call(base, liked ? 'DELETE' : 'PUT', `/api/v1/posts/${postId}/like`, {
              token: user.token,
              timeoutMs: 30000,
            });
      if (res.status === 200 || res.status === 204) liked = i % 2 === 1 ? !liked : liked;
      results.push({ at: Date.now(), status: res.status, ms: res.ms, code: res.json?.code });
      await sleep(50);
    }
  });
  return {
    results,
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

async function recover(base, postId, withinMs) {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if ((await call(base, 'GET', `/api/v1/posts/${postId}`, { timeoutMs: 10000 })).status === 200)
      return Date.now() - started;
    await sleep(200);
  }
  return undefined;
}

const summarise = (results, from, to, budgetMs) => {
  const window = results.filter((r) => r.at >= from && r.at <= to + budgetMs * 2);
  const unexpected = window.filter((r) => !(r.status >= 200 && r.status < 300) && r.status !== 503);
  const slow503 = window.filter((r) => r.status === 503 && r.ms > budgetMs * 1.1);
  return {
    requests: window.length,
    statuses: countBy(window.map((r) => r.status)),
    codes503: countBy(window.filter((r) => r.status === 503).map((r) => r.code)),
    unexpected: unexpected.length,
    slowest503Ms: Math.round(Math.max(0, ...window.filter((r) => r.status === 503).map((r) => r.ms))),
    over503Deadline: slow503.length,
  };
};

export async function faults({ startApp, dataDir, port, budgetMs }) {
  let engine = await startEngine({ dataDir, port });
  const app = await startApp({ DYNAMODB_ENDPOINT: engine.endpoint, DYNAMODB_REQUEST_TIMEOUT_MS: String(budgetMs) });
  const users = [];
  for (let i = 0; i < 6; i++) users.push(await register(app.base, `fault${i}`));
  const post = await call(app.base, 'POST', '/api/v1/posts', {
    token: users[0].token,
    body: { title: 'Fault target', content: 'x' },
  });
  await call(app.base, 'POST', `/api/v1/posts/${post.json.id}/publish`, { token: users[0].token, body: {} });
  const load = startLoad(app.base, users, post.json.id);

  // 2. Freeze for 10 s.
  await sleep(2000);
  const frozenAt = Date.now();
  process.kill(engine.process.pid, 'SIGSTOP');
  await sleep(10_000);
  process.kill(engine.process.pid, 'SIGCONT');
  const thawedAt = Date.now();
  const freezeRecovery = await recover(app.base, post.json.id, 30_000);
  const freeze = { ...summarise(load.results, frozenAt, thawedAt, budgetMs), recoveredAfterMs: freezeRecovery };

  // 3. Kill and restart on the same data and port.
  await sleep(2000);
  const killedAt = Date.now();
  engine.process.kill('SIGKILL');
  await sleep(5000);
  engine = await startEngine({ dataDir, port });
  const restartedAt = Date.now();
  const killRecovery = await recover(app.base, post.json.id, 60_000);
  await sleep(2000);
  await load.stop();
  const kill = { ...summarise(load.results, killedAt, restartedAt, budgetMs), recoveredAfterMs: killRecovery };

  // Every liker ends on a like (PUT is idempotent), so the check below counts some likes: with
  // none, a count of 0 would match whatever partition it looked in.
  for (const [i, user] of users.entries())
    if (i % 2 === 1) await call(app.base, 'PUT', `/api/v1/posts/${post.json.id}/like`, { token: user.token });

  // No half-applied like: the likes the post shows equal its like items. Like items live in the
  // post's 16 like shards (`POSTLIKES#<postId>#<n>`, src/dynamo/keys.ts), not in `POST#<id>`; the
  // count shows a hot post's shard likes once the stream worker has folded them, so it is read
  // until it settles (30 s at most), as the burst check does.
  const client = new DynamoDBClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  let likeItems = 0;
  for (let shard = 0; shard < LIKE_SHARDS; shard++) {
    const page = await client.send(
      new QueryCommand({
        TableName: 'publishing',
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :like)',
        ExpressionAttributeValues: { ':pk': { S: `POSTLIKES#${post.json.id}#${shard}` }, ':like': { S: 'LIKE#' } },
        ConsistentRead: true,
        Select: 'COUNT',
      }),
    );
    likeItems += page.Count;
  }
  client.destroy();
  let likeCount;
  for (const deadline = Date.now() + 30_000; likeCount !== likeItems && Date.now() < deadline; await sleep(500)) {
    likeCount = (await call(app.base, 'GET', `/api/v1/posts/${post.json.id}`, { timeoutMs: 10000 })).json?.likeCount;
  }
  await app.stop();
  return { freeze, kill, likeCount, likeItems, engine };
}
