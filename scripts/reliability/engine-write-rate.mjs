// Measures the on-disk DynamoDB Local's write rate: single-item PutItem and 4-item transactions,
// one at a time and 8 at a time. Used by the battery and runnable alone:
// `npm run build && node scripts/reliability/engine-write-rate.mjs`.
import { DynamoDBClient, PutItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable } from '../../dist/dynamo/table.setup.js';
import { cleanup, freePort, pool, startEngine, tempDir } from './lib.mjs';

export async function measureWriteRate({ dataDir, seconds = 4 } = {}) {
  const engine = await startEngine({ dataDir: dataDir ?? tempDir('engine-rate-'), port: await freePort() });
  const client = new DynamoDBClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable({ client, tableName: 'rate' });
  const item = (i) => ({ PK: { S: `RATE#${i}` }, SK: { S: 'X' }, v: { S: String(i) } });
  let counter = 0;
  const run = async (width, op) => {
    const until = Date.now() + seconds * 1000;
    let done = 0;
    await pool(width, width, async () => {
      while (Date.now() < until) {
        await op(counter++);
        done++;
      }
    });
    return done / seconds;
  };
  const put = (i) => client.send(new PutItemCommand({ TableName: 'rate', Item: item(i) }));
  const transact = (i) =>
    client.send(
      new TransactWriteItemsCommand({
        TransactItems: [0, 1, 2, 3].map((k) => ({ Put: { TableName: 'rate', Item: item(`${i}-${k}`) } })),
      }),
    );
  const figures = {
    putPerSecondSerial: await run(1, put),
    putPerSecond8: await run(8, put),
    transaction4PerSecondSerial: await run(1, transact),
    transaction4PerSecond8: await run(8, transact),
  };
  client.destroy();
  await engine.stop();
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    console.log(await measureWriteRate());
  } finally {
    await cleanup();
  }
}
