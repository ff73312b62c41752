// CPU per DynamoDB call of the AWS SDK itself, on a bare client against an in-memory DynamoDB Local
// (docs/performance.md, "CPU per request against a peer"): GetItem of one small item through
// DynamoDBClient with its middleware stack resolved on every call (the default), with the SDK's
// `cacheMiddleware: true` (resolved once per command class), and through DynamoDBDocumentClient
// (which refuses `cacheMiddleware`), against our own transport (src/dynamo/lean-dynamo-client.ts,
// session 14): bare, and as the app builds it (`createDocumentClient` of `createDynamoClient`, with
// the gate and the accounting) for both values of DYNAMODB_CLIENT. Interleaved rounds, the first one
// a warm-up. CPU time of this process (utime + stime), which the machine's load disturbs far less
// than wall-clock time.
// `npm run build && node scripts/bench/sdk-call-cpu.mjs` (SDK_CALL_CPU_COUNT calls per round, default 3,000).
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { loadConfig } from '../../dist/config/app-config.js';
import { createDocumentClient, createDynamoClient } from '../../dist/dynamo/dynamo-client.factory.js';
import { LeanDocumentClient, LeanDynamoTransport } from '../../dist/dynamo/lean-dynamo-client.js';
import { cleanup, startEngine } from '../reliability/lib.mjs';
import { cpuPerCall, ITEM_KEY, oneItemTable } from './per-call-cpu.mjs';

const COUNT = Number(process.env.SDK_CALL_CPU_COUNT ?? 3000);
const ROUNDS = 4;
const CONCURRENCY = 16;
const TABLE = 'sdk-call-cpu';

try {
  const engine = await startEngine({});
  const client = (cacheMiddleware) =>
    new DynamoDBClient({
      region: 'us-east-1',
      endpoint: engine.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      cacheMiddleware,
      requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: CONCURRENCY }) }),
    });
  const perCall = client(false);
  await oneItemTable(perCall, TABLE);
  const key = ITEM_KEY;
  const cached = client(true);
  const documents = DynamoDBDocumentClient.from(client(false));
  const transport = new LeanDynamoTransport({
    region: 'us-east-1',
    endpoint: engine.endpoint,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 3,
    connectionTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    maxSockets: CONCURRENCY,
  });
  const lean = new LeanDocumentClient({
    transport,
    gate: undefined,
    observer: undefined,
    hooks: [],
    fallback: documents,
  });
  // As the app builds its clients (gate, accounting, ReturnConsumedCapacity), each transport.
  const app = (kind) => {
    const config = loadConfig({
      NODE_ENV: 'development',
      JWT_SECRET: 'sdk-call-cpu bench secret, 32 bytes at least',
      DYNAMODB_ENDPOINT: engine.endpoint,
      DYNAMODB_CLIENT: kind,
    }).dynamo;
    return createDocumentClient(createDynamoClient({ ...config, maxConcurrency: CONCURRENCY }));
  };
  const appSdk = app('sdk');
  const appLean = app('lean');
  const get = () => new GetCommand({ TableName: TABLE, Key: { PK: 'POST#1', SK: 'POST' } });
  const contenders = {
    'DynamoDBClient, stack per call': () => perCall.send(new GetItemCommand({ TableName: TABLE, Key: key })),
    'DynamoDBClient, cacheMiddleware': () => cached.send(new GetItemCommand({ TableName: TABLE, Key: key })),
    DynamoDBDocumentClient: () => documents.send(get()),
    'lean document client': () => lean.send(get()),
    'app client, DYNAMODB_CLIENT=sdk': () => appSdk.send(get()),
    'app client, DYNAMODB_CLIENT=lean': () => appLean.send(get()),
  };
  const runs = await cpuPerCall(contenders, { rounds: ROUNDS, count: COUNT, concurrency: CONCURRENCY });
  const item = await appLean.send(get());
  if (item.Item?.title !== 'A title') throw new Error(`the lean client read ${JSON.stringify(item.Item)}`);
  console.log(`CPU per GetItem (µs), rounds 2-${ROUNDS} of ${ROUNDS}, ${COUNT} calls each at ${CONCURRENCY}:`);
  for (const [name, values] of Object.entries(runs)) console.log(`  ${name.padEnd(36)} ${values.join(', ')}`);
  console.log(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  await cleanup();
}
