import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { batchGetAll, batchWriteAll } from '../dynamo/batch.js';
import { type ItemKey, Keys } from '../dynamo/keys.js';
import { cutoffOf, hasEnded } from '../identity/sessions/session.entity.js';
import { createProgress, type ProgressStream } from './progress.js';
import { scanPages } from './scan-pages.js';

export interface SessionSweepOptions {
  /** Only report: nothing is deleted. */
  dryRun?: boolean;
  /** Where progress goes (stderr by default). */
  progress?: ProgressStream;
}

export interface SessionSweepResult {
  scannedItems: number;
  /** Session items whose user's `sessionEpoch` has ended them (deleted unless `dryRun`). */
  endedSessions: number;
  /** Users those sessions belong to. */
  users: number;
  deletedItems: number;
}

interface Scanned {
  PK: string;
  SK: string;
  sessionEpoch?: number;
  sessionEpochKeeps?: string;
}

/**
 * Admin tooling, never a request path (`npm run sessions:sweep-ended`, review 16a L3): deletes the
 * items of sessions their user's `sessionEpoch` has ended, which every read of this build already
 * refuses but a build from before the epoch (b9ed093) would accept again: run it before rolling
 * back past that build (docs/operations.md). Such items are left when a clean-up after a raise
 * failed (it only logs) or a sign-in committed after the clean-up's Query.
 *
 * One Scan of the user partitions' user and session items (keys and epochs only, consistent), then
 * the user items of the candidates read again, consistent: a Scan is not a snapshot, and the
 * latest cutoff decides (an epoch only rises, and `sessionEpochKeeps` only names a session of the
 * raise that set it, so a session ended once stays ended). A user item that is gone is left to
 * `db:sweep-orphans`. Ended sessions are deleted with batched deletes.
 */
export async function sweepEndedSessions(
  client: DynamoDBDocumentClient,
  tableName: string,
  options: SessionSweepOptions = {},
): Promise<SessionSweepResult> {
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  const progress = createProgress({ label: 'sessions', total: Table?.ItemCount ?? 0, stream: options.progress });
  const users = new Map<string, Scanned>();
  const sessions = new Map<string, Scanned[]>();
  let scannedItems = 0;
  const pages = scanPages(
    client,
    {
      TableName: tableName,
      ProjectionExpression: 'PK, SK, sessionEpoch, sessionEpochKeeps',
      FilterExpression: 'begins_with(PK, :users) AND (SK = :user OR begins_with(SK, :session))',
      ExpressionAttributeValues: {
        ':users': Keys.userPartition(''),
        ':user': Keys.user('').SK,
        ':session': Keys.sessionPrefix,
      },
      ConsistentRead: true,
    },
    // The filter drops most items, but the progress is over the whole table.
    { onProgress: (scanned) => progress.update(scanned) },
  );
  for await (const page of pages) {
    scannedItems += page.scanned;
    for (const item of page.items as Scanned[]) {
      if (item.SK === Keys.user('').SK) users.set(item.PK, item);
      else sessions.set(item.PK, [...(sessions.get(item.PK) ?? []), item]);
    }
  }
  progress.finish();

  const idOf = (session: Scanned) => session.SK.slice(Keys.sessionPrefix.length);
  const endedBy = (user: Scanned, list: Scanned[]) =>
    list.filter((session) => hasEnded({ id: idOf(session), sessionEpoch: session.sessionEpoch }, cutoffOf(user)));
  // Users the Scan saw with an ended session; their user items are read again below.
  const candidates = [...sessions.entries()].filter(([pk, list]) => {
    const user = users.get(pk);
    return user !== undefined && endedBy(user, list).length > 0;
  });
  const usersNow = await batchGetAll(
    client,
    tableName,
    candidates.map(([pk]): ItemKey => ({ PK: pk, SK: Keys.user('').SK })),
    { consistentRead: true },
  );
  const ended = (usersNow as unknown as Scanned[]).flatMap((user) => endedBy(user, sessions.get(user.PK) ?? []));
  if (!options.dryRun) {
    await batchWriteAll(
      client,
      tableName,
      ended.map(({ PK, SK }) => ({ DeleteRequest: { Key: { PK, SK } } })),
    );
  }
  return {
    scannedItems,
    endedSessions: ended.length,
    users: new Set(ended.map(({ PK }) => PK)).size,
    deletedItems: options.dryRun ? 0 : ended.length,
  };
}
