import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TABLE_LAYOUT_VERSION } from '../dynamo/table.definition.js';
import { indexUserOwnedItems } from './0001-index-user-owned-items.js';
import { backfillReplyCounts } from './0002-backfill-reply-counts.js';
import { shardListingPartitions } from './0006-shard-listing-partitions.js';
import { likeShards } from './0008-like-shards.js';
import { commentPointerPartitions } from './0010-comment-pointer-partitions.js';
import { shardModerationQueue } from './0011-shard-moderation-queue.js';
import { MAX_ITEM_BYTES, plainLegacyText, plainValueOf } from './0014-plain-legacy-text.js';
import { heldBackPublications, PUBLICATION_HELD_BACK } from './0015-held-back-publications.js';
import { itemSize } from '../admin-tools/dynamodb-json.js';
import { MAX_CONTENT_BYTES } from '../posts/dto/post.dto.js';
import { shardOf } from '../dynamo/sharding.js';
import { MIGRATIONS } from './index.js';
import { type ItemUpdate, migrationLabel } from './migration.js';

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

describe('0006-shard-listing-partitions', () => {
  const user = {
    PK: { S: 'USER#u1' },
    SK: { S: 'USER' },
    entity: { S: 'User' },
    id: { S: 'u1' },
    createdAt: { S: '2026-01-01T00:00:00.000Z' },
    role: { S: 'moderator' },
    status: { S: 'active' },
    GSI1PK: { S: 'USERS' },
    GSI1SK: { S: '2026-01-01T00:00:00.000Z#u1' },
    GSI2PK: { S: 'USERS#STATUS#active' },
    GSI3PK: { S: 'USERS#ROLE#moderator' },
    GSI4PK: { S: 'USERS#ROLE#moderator#STATUS#active' },
  };
  const event = {
    PK: { S: 'EVENT#e1' },
    SK: { S: 'EVENT' },
    entity: { S: 'OutboundEvent' },
    id: { S: 'e1' },
    occurredAt: { S: '2026-01-01T00:00:00.000Z' },
    GSI1PK: { S: 'EVENTS' },
  };

  it("moves a user's four listing keys to the user's shard, conditioned on the keys it read", () => {
    const n = shardOf('u1');
    const update = shardListingPartitions.migrate(user) as ItemUpdate;
    expect(update?.values).toEqual({
      ':n0': { S: `USERS#${n}` },
      ':n1': { S: `USERS#STATUS#active#${n}` },
      ':n2': { S: `USERS#ROLE#moderator#${n}` },
      ':n3': { S: `USERS#ROLE#moderator#STATUS#active#${n}` },
      ':o0': { S: 'USERS' },
      ':o1': { S: 'USERS#STATUS#active' },
      ':o2': { S: 'USERS#ROLE#moderator' },
      ':o3': { S: 'USERS#ROLE#moderator#STATUS#active' },
    });
    expect(update?.conditionExpression).toBe(
      'attribute_exists(PK) AND GSI1PK = :o0 AND GSI2PK = :o1 AND GSI3PK = :o2 AND GSI4PK = :o3',
    );
  });

  it('moves an outbound event to its shard, and leaves what is moved already or is something else', () => {
    expect((shardListingPartitions.migrate(event) as ItemUpdate).values).toEqual({
      ':n': { S: `EVENTS#${shardOf('e1')}` },
      ':o': { S: 'EVENTS' },
    });
    expect(shardListingPartitions.migrate({ ...user, GSI1PK: { S: `USERS#${shardOf('u1')}` } })).toBeUndefined();
    expect(shardListingPartitions.migrate({ ...event, GSI1PK: { S: 'EVENTS#3' } })).toBeUndefined();
    expect(shardListingPartitions.migrate({ ...event, entity: { S: 'WebhookDelivery' } })).toBeUndefined();
  });

  it('skips, with a reason, an old-layout item it cannot move (so the run counts it, review 11 L4)', () => {
    const { createdAt: _createdAt, ...userWithoutCreatedAt } = user;
    expect(shardListingPartitions.migrate(userWithoutCreatedAt)).toEqual({
      skipped: expect.stringContaining('createdAt'),
    });
    const { occurredAt: _occurredAt, ...eventWithoutTime } = event;
    expect(shardListingPartitions.migrate(eventWithoutTime)).toEqual({
      skipped: expect.stringContaining('occurredAt'),
    });
  });
});

describe('0008-like-shards', () => {
  const like = {
    PK: { S: 'POST#p1' },
    SK: { S: 'LIKE#u1' },
    entity: { S: 'Like' },
    postId: { S: 'p1' },
    userId: { S: 'u1' },
  };

  it("moves an old like to its liker's shard, and skips by name one whose shard cannot be known", () => {
    expect(likeShards.migrate(like)).toMatchObject({
      moveTo: { PK: { S: expect.stringMatching(/^POSTLIKES#p1#\d+$/) } },
    });
    const { userId: _userId, ...withoutUser } = like;
    expect(likeShards.migrate(withoutUser)).toEqual({ skipped: 'a like without postId or userId' });
    expect(likeShards.migrate({ ...like, PK: { S: 'POSTLIKES#p1#3' } })).toBeUndefined();
  });

  it('pins the delete to the likes-index position it read (review 12, L2)', () => {
    expect(likeShards.migrate({ ...like, GSI2SK: { S: 'V#2026' } })).toMatchObject({
      conditionExpression: 'GSI2SK = :gsi2sk',
      values: { ':gsi2sk': { S: 'V#2026' } },
    });
    expect(likeShards.migrate(like)).toMatchObject({
      conditionExpression: 'attribute_exists(PK) AND attribute_not_exists(GSI2SK)',
    });
  });
});

describe('0010-comment-pointer-partitions', () => {
  const pointer = {
    PK: { S: 'POST#p1' },
    SK: { S: 'CMTID#c1' },
    entity: { S: 'CommentPointer' },
    path: { S: '2026-11-27T06:00:00.000Z#c1' },
    GSI6PK: { S: 'COMMENTER#u1' },
  };

  it('moves an old pointer out of its post partition with its attributes, and skips by name one without an id', () => {
    expect(commentPointerPartitions.migrate(pointer)).toEqual({
      description: 'POST#p1 CMTID#c1: -> CMTID#p1#c1 CMTID',
      moveTo: { ...pointer, PK: { S: 'CMTID#p1#c1' }, SK: { S: 'CMTID' } },
      conditionExpression: 'attribute_exists(PK)',
    });
    expect(commentPointerPartitions.migrate({ ...pointer, SK: { S: 'CMTID#' } })).toEqual({
      skipped: 'a pointer without CMTID#<id>',
    });
    expect(
      commentPointerPartitions.migrate({ ...pointer, PK: { S: 'CMTID#p1#c1' }, SK: { S: 'CMTID' } }),
    ).toBeUndefined();
  });
});

describe('0011-shard-moderation-queue', () => {
  const pending = {
    PK: { S: 'POST#p1' },
    SK: { S: 'COMMENT#2026-11-27T06:00:00.000Z#c1' },
    entity: { S: 'Comment' },
    id: { S: 'c1' },
    postId: { S: 'p1' },
    createdAt: { S: '2026-11-27T06:00:00.000Z' },
    status: { S: 'pending' },
    GSI1PK: { S: 'MODERATION#pending' },
    GSI1SK: { S: '2026-11-27T06:00:00.000Z#p1#c1' },
  };

  it("moves a pending comment's queue key to its id's shard, on condition it is still the old one", () => {
    expect(shardModerationQueue.migrate(pending)).toEqual({
      description: `POST#p1 COMMENT#2026-11-27T06:00:00.000Z#c1: GSI1PK=MODERATION#pending#${shardOf('c1')}`,
      updateExpression: 'SET GSI1PK = :n',
      conditionExpression: 'attribute_exists(PK) AND GSI1PK = :o',
      values: { ':n': { S: `MODERATION#pending#${shardOf('c1')}` }, ':o': { S: 'MODERATION#pending' } },
    });
    // Moved already, or moderated (no queue key): nothing to do.
    expect(shardModerationQueue.migrate({ ...pending, GSI1PK: { S: 'MODERATION#pending#3' } })).toBeUndefined();
    const { GSI1PK: _pk, ...moderated } = pending;
    expect(shardModerationQueue.migrate(moderated)).toBeUndefined();
    const { createdAt: _createdAt, ...withoutTime } = pending;
    expect(shardModerationQueue.migrate(withoutTime)).toEqual({
      skipped: 'a pending comment without id, postId or createdAt',
    });
  });
});

describe('0014-plain-legacy-text', () => {
  const legacy = 'Title\u000c with \u001b[31mred\u009b and a tab\there\r\n';
  const plain = 'Title\uFFFD with \uFFFD[31mred\uFFFD and a tab\there\r\n';
  const post = {
    PK: { S: 'POST#p1' },
    SK: { S: 'POST' },
    entity: { S: 'Post' },
    id: { S: 'p1' },
    title: { S: legacy },
    excerpt: { S: 'clean' },
    authorName: { S: 'Ada\u0085Lovelace' },
    viewCount: { N: '3' },
    version: { N: '7' },
  };

  it('replaces the characters PlainText refuses by U+FFFD in every string that has one, on the values read and the version', () => {
    expect(plainLegacyText.migrate(post)).toEqual({
      description: 'POST#p1 POST: control characters replaced in title, authorName',
      updateExpression: 'SET #a0 = :n0, #a1 = :n1',
      conditionExpression: 'attribute_exists(PK) AND #a0 = :o0 AND #a1 = :o1 AND #version = :version',
      names: { '#a0': 'title', '#a1': 'authorName', '#version': 'version' },
      values: {
        ':n0': { S: plain },
        ':o0': { S: legacy },
        ':n1': { S: 'Ada\uFFFDLovelace' },
        ':o1': { S: 'Ada\u0085Lovelace' },
        ':version': { N: '7' },
      },
    });
    // Done (the update applied, or an edit stored plain text): nothing more, so a second run changes nothing.
    expect(plainLegacyText.migrate({ ...post, title: { S: plain }, authorName: { S: 'Ada' } })).toBeUndefined();
  });

  it('cleans maps, lists and string sets at any depth (the summary copy of a link, social links, preferences); without a version, on the values alone', () => {
    const link = {
      PK: { S: 'TAG#t1' },
      SK: { S: 'POST#2026-11-27T06:00:00.000Z#p1' },
      entity: { S: 'PostLink' },
      summary: { M: { title: { S: legacy }, tagIds: { L: [{ S: 't1' }] }, version: { N: '7' } } },
    };
    const update = plainLegacyText.migrate(link) as ItemUpdate;
    expect(update.conditionExpression).toBe('attribute_exists(PK) AND #a0 = :o0');
    expect(update.values).toEqual({
      ':n0': { M: { title: { S: plain }, tagIds: { L: [{ S: 't1' }] }, version: { N: '7' } } },
      ':o0': link.summary,
    });
    expect(plainValueOf({ L: [{ S: 'ok' }, { M: { a: { S: '\u0007' } } }] })).toEqual({
      L: [{ S: 'ok' }, { M: { a: { S: '\uFFFD' } } }],
    });
    expect(plainValueOf({ SS: ['a\u0001', 'a\u0002', 'b'] })).toEqual({ SS: ['a\uFFFD', 'b'] });
    expect(plainValueOf({ M: { a: { S: 'ok' }, n: { N: '1' }, b: { BOOL: true } } })).toBeUndefined();
    expect(plainValueOf({ S: 'emoji \u{1F600} and café' })).toBeUndefined();
  });

  it("drops the characters instead where U+FFFD would take a post's content past its 200,000-byte API bound (a content of mostly C0 controls)", () => {
    const content = (text: string) => ({
      PK: { S: 'POST#p1' },
      SK: { S: 'CONTENT' },
      entity: { S: 'PostContent' },
      content: { S: text },
    });
    // 100,000 characters, 60,000 of them controls: 160,000 bytes; with U+FFFD it would be 280,000.
    const legacy = 'ab\u0001\u001b'.repeat(30_000) + 'c'.repeat(40_000);
    expect(plainLegacyText.migrate(content(legacy))).toEqual({
      description: 'POST#p1 CONTENT: control characters dropped in content (U+FFFD would pass its byte bound)',
      updateExpression: 'SET #a0 = :n0',
      conditionExpression: 'attribute_exists(PK) AND #a0 = :o0',
      names: { '#a0': 'content' },
      values: { ':n0': { S: 'ab'.repeat(30_000) + 'c'.repeat(40_000) }, ':o0': { S: legacy } },
    });
    // At the bound exactly, U+FFFD; one byte past it, dropped (the form feed of a C0 control: 1 byte).
    const atBound = 'a'.repeat(MAX_CONTENT_BYTES - 3) + '\u000c';
    expect((plainLegacyText.migrate(content(atBound)) as ItemUpdate).values?.[':n0']).toEqual({
      S: 'a'.repeat(MAX_CONTENT_BYTES - 3) + '\uFFFD',
    });
    expect((plainLegacyText.migrate(content('a' + atBound)) as ItemUpdate).values?.[':n0']).toEqual({
      S: 'a'.repeat(MAX_CONTENT_BYTES - 2),
    });
    // A second run finds nothing; a field without a byte bound (a comment's content) keeps U+FFFD.
    expect(plainLegacyText.migrate(content('ab'.repeat(30_000)))).toBeUndefined();
    const comment = { ...content(legacy), SK: { S: 'COMMENT#c1' }, entity: { S: 'Comment' } };
    expect((plainLegacyText.migrate(comment) as ItemUpdate).values?.[':n0']).toEqual({
      S: 'ab\uFFFD\uFFFD'.repeat(30_000) + 'c'.repeat(40_000),
    });
  });

  it("skips, with the reason, an item the change would take past DynamoDB's 400 KB (imported data), rather than fail the run", () => {
    const near = (controls: number) => {
      const item = {
        PK: { S: 'POST#p1' },
        SK: { S: 'COMMENT#c1' },
        entity: { S: 'Comment' },
        content: { S: '\u0001'.repeat(controls) },
        authorName: { S: '' },
      };
      // Filled to 1,000 bytes below the bound; each C0 control grows by 2 bytes with U+FFFD.
      return { ...item, authorName: { S: 'x'.repeat(MAX_ITEM_BYTES - 1_000 - itemSize(item)) } };
    };
    expect(itemSize(near(500))).toBe(MAX_ITEM_BYTES - 1_000);
    expect(plainLegacyText.migrate(near(500))).toMatchObject({ updateExpression: 'SET #a0 = :n0' });
    expect(plainLegacyText.migrate(near(501))).toEqual({
      skipped: `made plain it would be about ${MAX_ITEM_BYTES + 2} bytes, past DynamoDB's 400 KB item bound (content: shorten or clean by hand)`,
    });
  });

  it('leaves kinds that hold no free text and the item keys alone', () => {
    const session = {
      PK: { S: 'USER#u1' },
      SK: { S: 'SESSION#s1' },
      entity: { S: 'Session' },
      userAgent: { S: 'a\u009b' },
    };
    expect(plainLegacyText.migrate(session)).toBeUndefined();
    const keyOnly = { ...post, PK: { S: 'POST#p1\u0001' }, title: { S: plain }, authorName: { S: 'Ada' } };
    expect(plainLegacyText.migrate(keyOnly)).toBeUndefined();
    for (const entity of ['User', 'Profile', 'Post', 'PostContent', 'PostLink', 'Comment', 'Tag', 'Category'])
      expect(Object.values(plainLegacyText.filter.values)).toContainEqual({ S: entity });
  });
});

describe('0015-held-back-publications', () => {
  const AHEAD = new Date(Date.now() + 86_400_000).toISOString();
  const PAST = '2026-01-01T00:00:00.000Z';
  const post = (over: Record<string, { S: string }> = {}) => ({
    PK: { S: 'POST#p1' },
    SK: { S: 'POST' },
    entity: { S: 'Post' },
    status: { S: 'published' },
    publishedAt: { S: AHEAD },
    updatedAt: { S: PAST },
    ...over,
  });
  /** A client whose GetItem of WEBHOOKS#TARGETS answers with `targets`. */
  const context = (targets?: string[]) => {
    const reads: unknown[] = [];
    const client = {
      send: (command: { input: unknown }) => {
        reads.push(command.input);
        return Promise.resolve({ Item: targets ? { targets: { SS: targets } } : undefined });
      },
    };
    return { reads, context: { client: client as never, tableName: 't' } };
  };

  it('marks a post still scheduled for its time, once; not a post whose time came, nor a draft', async () => {
    const { reads, context: ctx } = context();
    const update = (await heldBackPublications.migrate(post(), ctx))!;
    expect(update).toMatchObject({
      updateExpression: 'SET #held = :at',
      names: { '#held': PUBLICATION_HELD_BACK },
      values: { ':at': { S: AHEAD } },
    });
    // Only while the post is still published at that time, and not marked for it already.
    expect(update.conditionExpression).toContain('publishedAt = :at');
    expect(update.conditionExpression).toContain('#held <> :at');
    expect(await heldBackPublications.migrate(post({ [PUBLICATION_HELD_BACK]: { S: AHEAD } }), ctx)).toBeUndefined();
    expect(await heldBackPublications.migrate(post({ publishedAt: { S: PAST } }), ctx)).toBeUndefined();
    expect(await heldBackPublications.migrate(post({ status: { S: 'draft' } }), ctx)).toBeUndefined();
    expect(reads).toEqual([]);
  });

  it("adds a pending delivery's webhook to WEBHOOKS#TARGETS when the set lacks it; nothing for a delivery done", async () => {
    const delivery = {
      PK: { S: 'EVENT#e1' },
      SK: { S: 'DELIVERY#0123456789abcdef' },
      entity: { S: 'WebhookDelivery' },
      state: { S: 'pending' },
      target: { S: '0123456789abcdef' },
    };
    const unknown = context(['fedcba9876543210']);
    const update = (await heldBackPublications.migrate(delivery, unknown.context))!;
    expect(update).toMatchObject({
      key: { PK: { S: 'WEBHOOKS#TARGETS' }, SK: { S: 'TARGETS' } },
      updateExpression: 'SET #entity = :entity ADD targets :target',
      values: expect.objectContaining({ ':target': { SS: ['0123456789abcdef'] } }),
    });
    expect(unknown.reads).toEqual([expect.objectContaining({ ConsistentRead: true })]);
    expect(await heldBackPublications.migrate(delivery, context(['0123456789abcdef']).context)).toBeUndefined();
    expect(await heldBackPublications.migrate(delivery, context().context)).toBeDefined();
    const done = { ...delivery, state: { S: 'delivered' } };
    expect(await heldBackPublications.migrate(done, unknown.context)).toBeUndefined();
  });
});
