import { DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, batchWriteAll } from '../dynamo/batch.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { classifyKey } from '../dynamo/item-types.js';
import { type ItemKey, Keys } from '../dynamo/keys.js';
import { DELETED_USER_ID } from '../identity/account.js';
import { scanPages } from './scan-pages.js';

/** The item that must exist for a partition to be alive: a post's summary, a user's user item. */
const ANCHORS: Record<string, string> = {
  [Keys.postPartition('')]: Keys.post('').SK,
  [Keys.userPartition('')]: Keys.user('').SK,
};

/**
 * User partitions that have no user item by design (review 4, #6): `deleted-user`, whose counters
 * count the posts of erased authors, and the stand-ins of link requests for unknown addresses
 * (`USER#nobody-<requestId>`, which the stream processor drops and `ttl` removes).
 */
const ANCHORLESS_BY_DESIGN = (partition: string): boolean =>
  partition === Keys.userPartition(DELETED_USER_ID) || partition.startsWith(Keys.userPartition('nobody-'));

export interface SweepResult {
  scannedItems: number;
  orphanPartitions: string[];
  deletedItems: number;
}

/**
 * Admin tooling, never a request path: finds post and user partitions (and a post's like, view and
 * comment counter shard partitions and its comment pointers, anchored by its summary) whose anchor item is
 * gone (a crash between the two steps of a post delete or a hard user delete) and deletes what
 * is left in them, and the email and username uniqueness items of users that no longer exist. It Scans the whole table (keys only), so run it off-peak:
 * `npm run db:sweep-orphans`. With `dryRun` it only reports.
 */
export async function sweepOrphans(
  client: DynamoDBDocumentClient,
  tableName: string,
  dryRun = false,
): Promise<SweepResult> {
  // `owner`: the partition whose counter tombstone says the stream's cascade owns this one.
  const partitions = new Map<string, { anchored: boolean; anchor: ItemKey; owner: string; keys: ItemKey[] }>();
  const userUniques: (ItemKey & { userId: string })[] = [];
  const cascading = new Set<string>();
  let scannedItems = 0;
  const pages = scanPages(client, {
    TableName: tableName,
    ProjectionExpression: 'PK, SK, userId, deletedAt',
    ConsistentRead: true,
  });
  for await (const page of pages) {
    for (const item of page.items as (ItemKey & { userId?: string; deletedAt?: string })[]) {
      scannedItems++;
      // A deleted post's counter tombstone is meant to outlive the post (it expires by `ttl`), and
      // while it is there the stream's cascade owns the partition: it removes the likes with their
      // likers' counts, in bounded runs; a blind delete here would leave those counts too high.
      if (item.SK === Keys.postCounts('').SK && item.deletedAt) {
        cascading.add(item.PK);
        continue;
      }
      if (/^UNIQUE#(EMAIL|USERNAME)#/.test(item.PK) && item.userId) {
        userUniques.push({ PK: item.PK, SK: item.SK, userId: item.userId });
        continue;
      }
      // A post's like, view and comment counter shards and its comments' pointers live outside its
      // partition: anchored by its summary there.
      const shardOf = classifyKey(item);
      if (['like', 'postLikeShard', 'postViewShard', 'postCommentShard', 'commentPointer'].includes(shardOf.type)) {
        const entry = partitions.get(item.PK) ?? {
          anchored: false,
          anchor: Keys.post(shardOf.id),
          owner: Keys.postPartition(shardOf.id),
          keys: [],
        };
        entry.keys.push({ PK: item.PK, SK: item.SK });
        partitions.set(item.PK, entry);
        continue;
      }
      const prefix = Object.keys(ANCHORS).find((p) => item.PK.startsWith(p));
      if (!prefix || ANCHORLESS_BY_DESIGN(item.PK)) continue;
      const entry = partitions.get(item.PK) ?? {
        anchored: false,
        anchor: { PK: item.PK, SK: ANCHORS[prefix] },
        owner: item.PK,
        keys: [],
      };
      if (item.SK === ANCHORS[prefix]) entry.anchored = true;
      entry.keys.push({ PK: item.PK, SK: item.SK });
      partitions.set(item.PK, entry);
    }
  }

  const ownerOf = (unique: { userId: string }): ItemKey => Keys.user(String(unique.userId));
  const candidates = [...partitions.entries()].filter(([, entry]) => !entry.anchored);
  const claimCandidates = userUniques.filter(
    (unique) => !partitions.get(Keys.userPartition(String(unique.userId)))?.anchored,
  );
  // A Scan is not a snapshot (review 5, #2): an account registered or a post created while it ran
  // can show its uniqueness claims or children without its anchor, which the Scan passed before the
  // write committed. Each candidate's anchor is read again, strongly consistent: one that exists
  // now keeps its partition and claims.
  // A post deleted after the Scan passed its counter item has a tombstone there now, and its
  // cascade owns its likes (review 12, L4: deleted here, a like's `likedCount` was never lowered):
  // the counter item of each candidate's post is read too.
  const countersNow = candidates
    .filter(([, entry]) => entry.owner.startsWith(Keys.postPartition('')))
    .map(([, entry]) => ({ PK: entry.owner, SK: Keys.postCounts('').SK }));
  // batchGetAll reads a key once: a post's partition and its shards share their anchor.
  const readNow = await batchGetAll(
    client,
    tableName,
    [...candidates.map(([, entry]) => entry.anchor), ...countersNow, ...claimCandidates.map(ownerOf)],
    { consistentRead: true },
  );
  const anchorsNow = new Set(readNow.map((item) => `${String(item.PK)}\u0000${String(item.SK)}`));
  for (const item of readNow) if (item.SK === Keys.postCounts('').SK && item.deletedAt) cascading.add(String(item.PK));
  const isAnchoredNow = (key: ItemKey) => anchorsNow.has(`${key.PK}\u0000${key.SK}`);
  const orphans = candidates.filter(([, entry]) => !cascading.has(entry.owner) && !isAnchoredNow(entry.anchor));
  const ownerless = claimCandidates.filter((unique) => !isAnchoredNow(ownerOf(unique)));
  const keys = [
    ...orphans.flatMap(([, entry]) => entry.keys),
    ...ownerless.map((unique) => ({ PK: unique.PK, SK: unique.SK })),
  ];
  if (!dryRun) {
    await batchWriteAll(
      client,
      tableName,
      orphans.flatMap(([, entry]) => entry.keys).map((Key) => ({ DeleteRequest: { Key } })),
    );
    // A claim goes only while it still names the user it named in the Scan: an address released
    // and taken by a new account since is that account's claim now.
    for (const unique of ownerless) {
      await client
        .send(
          new DeleteCommand({
            TableName: tableName,
            Key: { PK: unique.PK, SK: unique.SK },
            ConditionExpression: 'userId = :userId',
            ExpressionAttributeValues: { ':userId': unique.userId },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionalCheckFailed(error)) throw error;
        });
    }
  }
  return {
    scannedItems,
    orphanPartitions: [...orphans.map(([pk]) => pk), ...ownerless.map((unique) => unique.PK)],
    deletedItems: dryRun ? 0 : keys.length,
  };
}
