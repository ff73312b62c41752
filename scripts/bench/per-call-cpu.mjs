// Shared by the per-call CPU benches (sdk-call-cpu.mjs, http-client-cpu.mjs): their table (PK/SK, on
// demand, one small item: a title and 500 bytes of body, at ITEM_KEY) and their measuring rounds.
import { CreateTableCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';

/** The key of the one small item, in DynamoDB JSON. */
export const ITEM_KEY = { PK: { S: 'POST#1' }, SK: { S: 'POST' } };

/** Creates `table` through `client` (an SDK `DynamoDBClient`) and puts the item at ITEM_KEY. */
export async function oneItemTable(client, table) {
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'PK', AttributeType: 'S' },
        { AttributeName: 'SK', AttributeType: 'S' },
      ],
    }),
  );
  await client.send(
    new PutItemCommand({
      TableName: table,
      Item: { ...ITEM_KEY, title: { S: 'A title' }, body: { S: 'x'.repeat(500) } },
    }),
  );
}

/**
 * CPU of this process per call (µs, utime + stime) of each contender (name -> a task of one call),
 * `count` calls a round at `concurrency` callers, `rounds` rounds, the first a warm-up left out.
 * With `alternate`, the contenders run forwards in even rounds and backwards in odd ones.
 * Returns each contender's figures, round by round.
 */
export async function cpuPerCall(contenders, { rounds, count, concurrency, alternate = false }) {
  const runs = {};
  for (let round = 0; round < rounds; round++) {
    const names = Object.keys(contenders);
    for (const name of alternate && round % 2 ? names.reverse() : names) {
      const task = contenders[name];
      const before = process.cpuUsage();
      let started = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (started++ < count) await task();
        }),
      );
      const used = process.cpuUsage(before);
      if (round > 0) (runs[name] ??= []).push(Math.round((used.user + used.system) / count));
    }
  }
  return runs;
}
