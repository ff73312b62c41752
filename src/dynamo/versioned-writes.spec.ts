import type { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { VersionedWrites } from './versioned-writes.js';

class Stale extends Error {}
const key = { PK: 'TAG#1', SK: 'TAG' };
const writes = new VersionedWrites('t', () => new Stale('stale'));

describe('VersionedWrites: every write names the version it read', () => {
  it('update: the changes, version + 1, on condition of existence and the version; a failure is the kind’s mismatch', () => {
    const op = writes.update(key, { set: { name: 'n' } }, 7);
    const update = op.item.Update!;
    expect(update.Key).toEqual(key);
    expect(update.UpdateExpression).toMatch(/^SET #u0 = :u0 ADD #u1 :u1$/);
    expect(update.ExpressionAttributeNames).toEqual({ '#u0': 'name', '#u1': 'version' });
    expect(update.ConditionExpression).toBe('attribute_exists(PK) AND version = :expected');
    expect(update.ExpressionAttributeValues).toMatchObject({ ':expected': 7, ':u1': 1 });
    expect(op.onConditionFailed?.()).toBeInstanceOf(Stale);
  });

  it('update: an extra condition joins the version’s', () => {
    const op = writes.update(key, { set: { a: 1 } }, 2, { expression: 'email = :email', values: { ':email': 'e' } });
    expect(op.item.Update!.ConditionExpression).toBe('attribute_exists(PK) AND version = :expected AND email = :email');
  });

  it('delete: on the version; `whileZero` also requires the counter to be 0; `also` adds the caller’s condition', () => {
    expect(writes.delete(key, 3).item.Delete).toMatchObject({
      ConditionExpression: 'version = :v',
      ExpressionAttributeValues: { ':v': 3 },
    });
    expect(writes.delete(key, 3, { whileZero: 'postCount' }).item.Delete).toMatchObject({
      ConditionExpression: 'version = :v AND postCount = :zero',
      ExpressionAttributeValues: { ':v': 3, ':zero': 0 },
    });
    const withAlso = writes.delete(key, 3, { also: { expression: 'replyCount <= :none', values: { ':none': 0 } } });
    expect(withAlso.item.Delete).toMatchObject({
      ConditionExpression: 'version = :v AND replyCount <= :none',
      ExpressionAttributeValues: { ':v': 3, ':none': 0 },
    });
    expect(withAlso.onConditionFailed?.()).toBeInstanceOf(Stale);
  });

  it('unchanged: a condition check of the version read', () => {
    const op = writes.unchanged(key, 4);
    expect(op.item.ConditionCheck).toMatchObject({ Key: key, ConditionExpression: 'version = :v' });
    expect(op.onConditionFailed?.()).toBeInstanceOf(Stale);
  });

  it('send: one UpdateItem; its failed condition is the mismatch, other errors pass as they are', async () => {
    const sent: UpdateCommand[] = [];
    const failing = (error: Error) =>
      ({
        send: (command: UpdateCommand) => {
          sent.push(command);
          return Promise.reject(error);
        },
      }) as unknown as DynamoDBDocumentClient;
    const conditional = Object.assign(new Error('failed'), { name: 'ConditionalCheckFailedException' });
    await expect(writes.send(failing(conditional), writes.update(key, { set: { a: 1 } }, 1))).rejects.toBeInstanceOf(
      Stale,
    );
    expect(sent[0].input).toMatchObject({ TableName: 't', Key: key });
    const other = new Error('boom');
    await expect(writes.send(failing(other), writes.update(key, { set: { a: 1 } }, 1))).rejects.toBe(other);
    await expect(writes.send(failing(other), writes.delete(key, 1))).rejects.toThrow(/takes an update/);
  });
});
