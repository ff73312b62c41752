import { createHash } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { batchWriteRaw, type RawWriteRequest } from '../../src/dynamo/batch.js';

/**
 * Items as the code before migration 0001 wrote them: reset/verification tokens and idempotency
 * records without their GSI3 keys, for the given users. Returns how many were written.
 */
export async function writeOldLayoutItems(
  client: DynamoDBClient,
  tableName: string,
  userIds: string[],
  perUser: number,
): Promise<number> {
  const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  const requests: RawWriteRequest[] = userIds.flatMap((userId, u) =>
    Array.from({ length: perUser }, (_, i): RawWriteRequest[] => [
      {
        PutRequest: {
          Item: {
            PK: { S: `TOKEN#${createHash('sha256').update(`${userId}-${i}`).digest('hex')}` },
            SK: { S: 'TOKEN' },
            entity: { S: 'ActionToken' },
            kind: { S: 'password_reset' },
            userId: { S: userId },
            email: { S: `user${u}@example.com` },
            createdAt: { S: new Date(Date.now() - i * 1000).toISOString() },
            expiresAt: { S: expiresAt },
            ttl: { N: String(Math.floor(Date.parse(expiresAt) / 1000)) },
          },
        },
      },
      {
        PutRequest: {
          Item: {
            PK: { S: `IDEMPOTENCY#${userId}#retry-${i}` },
            SK: { S: 'IDEMPOTENCY' },
            entity: { S: 'Idempotency' },
            requestHash: { S: 'x'.repeat(64) },
            postId: { S: 'p'.repeat(21) },
            ttl: { N: String(Math.floor(Date.now() / 1000) + 86_400) },
          },
        },
      },
    ]).flat(),
  );
  await batchWriteRaw(client, tableName, requests);
  return requests.length;
}

/** Removes an item's GSI3 keys, as if the code before migration 0001 had written it. */
export async function toOldLayout(db: DynamoDBDocumentClient, tableName: string, item: Record<string, unknown>) {
  const { GSI3PK: _pk, GSI3SK: _sk, ...rest } = item;
  await db.send(new PutCommand({ TableName: tableName, Item: rest }));
}

/**
 * Outbound events as the code before migration 0006 wrote them: all in the one `EVENTS` partition
 * of GSI1 (not yet `EVENTS#<n>`). Returns their ids.
 */
export async function writeOldLayoutEvents(
  client: DynamoDBClient,
  tableName: string,
  count: number,
  now: Date,
): Promise<string[]> {
  const ttl = String(Math.floor(now.getTime() / 1000) + 86_400);
  const ids = Array.from({ length: count }, (_, i) => `evt_old${String(i).padStart(4, '0')}`);
  await batchWriteRaw(
    client,
    tableName,
    ids.map((id, i) => {
      const occurredAt = new Date(now.getTime() - (i + 1) * 1000).toISOString();
      const payload = JSON.stringify({ id, type: 'user.registered', occurredAt, data: { id: `u${i}` } });
      return {
        PutRequest: {
          Item: {
            PK: { S: `EVENT#${id}` },
            SK: { S: 'EVENT' },
            GSI1PK: { S: 'EVENTS' },
            GSI1SK: { S: `${occurredAt}#${id}` },
            entity: { S: 'OutboundEvent' },
            id: { S: id },
            type: { S: 'user.registered' },
            occurredAt: { S: occurredAt },
            payload: { S: payload },
            ttl: { N: ttl },
          },
        },
      };
    }),
  );
  return ids;
}
