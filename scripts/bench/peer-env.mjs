// The environment our app runs in when its CPU per request is compared with the peer's
// (`bench:peer`) or profiled on its own (`bench:profile`): the same in both, so their figures agree.

/** MAX_SESSIONS_PER_USER of the benches' app (the default): "login" stays below it, "login at the cap" is at it. */
export const SESSION_CAP = 20;

/**
 * The caching production runs with, src/config/app-config.ts's defaults under NODE_ENV=production
 * (src/bench-scripts.spec.ts holds them to it): the anonymous public page cache and the post-read
 * memory of a view. `BENCH_PEER_PRODUCTION=1` measures a second app of ours with them
 * (docs/performance.md, "Production caching"); the comparison with the peer is without.
 */
export const PRODUCTION_CACHING = { PUBLIC_CACHE_SECONDS: '5', VIEW_READ_CACHE_SECONDS: '1' };

/** Our app's environment against `endpoint`, signing in `admin`, hashing at `bcryptCost`. */
export function peerComparisonEnv({ endpoint, tableName, bcryptCost, admin }) {
  return {
    DYNAMODB_ENDPOINT: endpoint,
    DYNAMODB_TABLE_NAME: tableName,
    BCRYPT_COST: String(bcryptCost),
    MAIL_TRANSPORT: 'log',
    ADMIN_EMAIL: admin.email,
    ADMIN_PASSWORD: admin.password,
    // The change-stream worker runs in a process of its own in production (its default there is
    // off); in development it runs inside the app and its polling and folding would count as the
    // app's CPU. Its work is the stream's, like the engine's: not counted on either side.
    STREAM_WORKER: 'off',
    // The peer has no rate limits and no page cache: neither does ours here.
    LOGIN_RATE_MAX_PER_ACCOUNT: '0',
    LOGIN_RATE_MAX_PER_IP: '0',
    REGISTER_RATE_MAX_PER_IP: '0',
    CONTENT_RATE_LIMIT_PER_MINUTE: '0',
    PUBLIC_CACHE_SECONDS: '0',
    MAX_SESSIONS_PER_USER: String(SESSION_CAP),
    // Every like counted on its post's counter item (the path of a post that is not hot, as nearly all
    // are): the bench sends 32 likes and unlikes of a post in a row, so at the default of 10 a
    // second, which path each took depended on the throughput of the moment (src/posts/like-heat.ts).
    // 50 a second is more than the bench sends to one post.
    LIKE_DIRECT_MAX_PER_SECOND: '50',
    // To compare our DynamoDB transports (`lean`, the default, or the AWS SDK's `sdk`).
    ...(process.env.DYNAMODB_CLIENT ? { DYNAMODB_CLIENT: process.env.DYNAMODB_CLIENT } : {}),
  };
}
