import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TABLE_LAYOUT_VERSION } from '../dynamo/table.definition.js';
import { indexUserOwnedItems } from './0001-index-user-owned-items.js';
import { backfillReplyCounts } from './0002-backfill-reply-counts.js';
import { MIGRATIONS } from './index.js';
import { migrationLabel } from './migration.js';

describe('the migration list', () => {
  it('has one file per migration, in version order, ending at the layout new tables start at', () => {
    const files = readdirSync(dirname(fileURLToPath(import.meta.url)))
      .filter((name) => /^\d{4}-.+\.ts$/.test(name) && !name.endsWith('.spec.ts'))
      .sort();
    expect(MIGRATIONS.map((m) => `${migrationLabel(m)}.ts`)).toEqual(files);
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    expect(MIGRATIONS.at(-1)?.version ?? 0).toBe(TABLE_LAYOUT_VERSION);
  });
});

describe('0001-index-user-owned-items', () => {
  const token = {
    PK: { S: `TOKEN#${'a'.repeat(64)}` },
    SK: { S: 'TOKEN' },
    entity: { S: 'ActionToken' },
    userId: { S: 'u1' },
    createdAt: { S: '2026-01-01T00:00:00.000Z' },
  };
  const record = {
    PK: { S: 'IDEMPOTENCY#u2#key#with#hashes' },
    SK: { S: 'IDEMPOTENCY' },
    entity: { S: 'Idempotency' },
  };

  it('indexes tokens and idempotency records under their owner, once', () => {
    expect(indexUserOwnedItems.migrate(token)?.values).toEqual({
      ':pk': { S: 'OWNED#u1' },
      ':sk': { S: 'TOKEN#2026-01-01T00:00:00.000Z' },
    });
    expect(indexUserOwnedItems.migrate(record)?.values).toEqual({
      ':pk': { S: 'OWNED#u2' },
      ':sk': { S: 'IDEMPOTENCY#key#with#hashes' },
    });
    expect(indexUserOwnedItems.migrate({ ...token, GSI3PK: { S: 'OWNED#u1' } })).toBeUndefined();
    expect(indexUserOwnedItems.migrate({ PK: { S: 'TAG#1' }, SK: { S: 'TAG' }, entity: { S: 'Tag' } })).toBeUndefined();
    expect(indexUserOwnedItems.migrate(token)?.conditionExpression).toContain('attribute_not_exists(GSI3PK)');
  });
});

describe('0002-backfill-reply-counts', () => {
  const parent = { PK: { S: 'POST#p1' }, SK: { S: 'COMMENT#a' }, entity: { S: 'Comment' } };
  /** A client whose Query answers with the keys under the comment, in two pages. */
  const context = (keys: string[]) => {
    const queries: unknown[] = [];
    const client = {
      send: (command: { input: { ExclusiveStartKey?: unknown } }) => {
        queries.push(command.input);
        const [first, second] = [keys.slice(0, 2), keys.slice(2)];
        return Promise.resolve(
          command.input.ExclusiveStartKey
            ? { Items: second.map((SK) => ({ SK: { S: SK } })) }
            : { Items: first.map((SK) => ({ SK: { S: SK } })), LastEvaluatedKey: second.length ? { x: 1 } : undefined },
        );
      },
    };
    return { queries, context: { client: client as never, tableName: 't' } };
  };

  it('counts direct replies only, across pages, and conditions the write on the count it read', async () => {
    const { queries, context: ctx } = context(['COMMENT#a/b', 'COMMENT#a/b/c', 'COMMENT#a/d', 'COMMENT#a/e']);
    const update = await backfillReplyCounts.migrate(parent, ctx);
    expect(queries).toHaveLength(2);
    expect(update).toMatchObject({
      updateExpression: 'SET replyCount = :replies',
      conditionExpression: 'attribute_exists(PK) AND attribute_not_exists(replyCount)',
      values: { ':replies': { N: '3' } },
    });
    const since = await backfillReplyCounts.migrate({ ...parent, replyCount: { N: '1' } }, ctx);
    expect(since).toMatchObject({
      conditionExpression: 'replyCount = :stored',
      values: { ':replies': { N: '3' }, ':stored': { N: '1' } },
    });
  });

  it('leaves a comment whose count is right, and anything that is not a comment', async () => {
    expect(
      await backfillReplyCounts.migrate({ ...parent, replyCount: { N: '1' } }, context(['COMMENT#a/b']).context),
    ).toBeUndefined();
    expect(await backfillReplyCounts.migrate(parent, context([]).context)).toBeUndefined();
    expect(
      await backfillReplyCounts.migrate({ ...parent, entity: { S: 'Post' } }, context(['COMMENT#a/b']).context),
    ).toBeUndefined();
  });
});
