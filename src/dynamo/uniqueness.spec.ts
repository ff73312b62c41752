import type { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { UniqueValues } from './uniqueness.js';

class Taken extends Error {}
class Lost extends Error {}
const emails = new UniqueValues({
  tableName: 't',
  key: (email) => ({ PK: `UNIQUE#EMAIL#${email.toLowerCase()}`, SK: 'UNIQUE' }),
  kind: 'email',
  ownerAttribute: 'userId',
  taken: (email) => new Taken(email),
  lost: (email) => new Lost(email),
});

describe('UniqueValues: claim, release and swap of uniqueness items', () => {
  it('claim: puts the item with its kind and owner, only where none exists; a failure is `taken` for the value', () => {
    const op = emails.claim('A@x.io', 'u1');
    expect(op.item.Put).toEqual({
      TableName: 't',
      Item: { PK: 'UNIQUE#EMAIL#a@x.io', SK: 'UNIQUE', entity: 'Unique', kind: 'email', userId: 'u1' },
      ConditionExpression: 'attribute_not_exists(PK)',
    });
    const error = op.onConditionFailed?.();
    expect(error).toBeInstanceOf(Taken);
    expect(error?.message).toBe('A@x.io');
  });

  it('release: deletes only while the owner still owns it; `ifPresent` also accepts an item gone already', () => {
    const op = emails.release('a@x.io', 'u1');
    expect(op.item.Delete).toEqual({
      TableName: 't',
      Key: { PK: 'UNIQUE#EMAIL#a@x.io', SK: 'UNIQUE' },
      ConditionExpression: 'userId = :owner',
      ExpressionAttributeValues: { ':owner': 'u1' },
    });
    expect(op.onConditionFailed?.()).toBeInstanceOf(Lost);
    expect(emails.release('a@x.io', 'u1', { ifPresent: true }).item.Delete?.ConditionExpression).toBe(
      'attribute_not_exists(PK) OR userId = :owner',
    );
  });

  it('swap: the release of the old value and the claim of the new one; nothing for the same value', () => {
    const [release, claim, ...rest] = emails.swap('old@x.io', 'new@x.io', 'u1');
    expect(release.item.Delete?.Key).toEqual({ PK: 'UNIQUE#EMAIL#old@x.io', SK: 'UNIQUE' });
    expect(claim.item.Put?.Item).toMatchObject({ PK: 'UNIQUE#EMAIL#new@x.io', userId: 'u1' });
    expect(rest).toEqual([]);
    expect(emails.swap('same@x.io', 'same@x.io', 'u1')).toEqual([]);
  });

  it('ownerOf: a strongly consistent GetItem of the item, read through the owner attribute', async () => {
    const reads: GetCommand[] = [];
    const client = {
      send: (command: GetCommand) => {
        reads.push(command);
        return Promise.resolve({
          Item: command.input.Key?.PK === 'UNIQUE#EMAIL#a@x.io' ? { userId: 'u1' } : undefined,
        });
      },
    } as unknown as DynamoDBDocumentClient;
    await expect(emails.ownerOf(client, 'a@x.io')).resolves.toBe('u1');
    await expect(emails.ownerOf(client, 'b@x.io')).resolves.toBeUndefined();
    expect(reads[0].input).toMatchObject({ TableName: 't', ConsistentRead: true });
  });
});
