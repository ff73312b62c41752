import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { batchGetAll } from '../dynamo/batch.js';
import { CursorCodec } from '../dynamo/cursor.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { buildUpdate, epochSeconds, isExpired, type UpdateSpec } from '../dynamo/expressions.js';
import { ENTITY, EventIndexKeys, Keys } from '../dynamo/keys.js';
import { filledPage, type Page, queryIndexPage } from '../dynamo/pagination.js';
import { queryShardedIndexPage } from '../dynamo/sharded-page.js';
import { INDEX_PATTERNS } from '../dynamo/schema.js';
import { mustExist, transactWrite } from '../dynamo/transactions.js';
import { webhookDuePartitions } from '../migrations/0013-webhook-due-partitions.js';
import { type DeferredPublication, publicationAt } from './deferred-publication.js';
import type { OutboundEvent } from './outbound-event.js';

/** The event is stored already: the stream delivered its record again. */
class DuplicateEvent extends Error {}
/** The user the event names is gone (erased): nothing of theirs may be stored again. */
class OwnerGone extends Error {}
/** A held-back publication was sent or withdrawn already (another instance), or its event is gone. */
class AlreadySettled extends Error {}
/** A held-back publication's author is suspended, deactivated or erased. */
class AuthorOut extends Error {}

/** Events and their deliveries expire (DynamoDB TTL) after 30 days, past the time to look at them. */
export const EVENT_TTL_SECONDS = 30 * 24 * 3600;

/**
 * While a webhook has all its slots in flight, the due deliveries are read past its backlog: at
 * most this many pages of this many index items per look (1,000 items, about 40 RCU at 300 bytes).
 */
const DUE_SKIP_PAGES = 5;
const DUE_SKIP_PAGE_ITEMS = 200;

/** The migration that moves the pending deliveries to their webhook's own due partition. */
const LEGACY_DUE_RETIRED_AT = webhookDuePartitions.version;

/** Where the next read of the due deliveries past a full webhook's backlog starts (kept by its caller). */
export interface DueReadPosition {
  /** The index key to read after; none: from the head. */
  after?: Record<string, unknown>;
}

export type DeliveryState = 'pending' | 'delivered' | 'dead' | 'dropped';

/** One event's delivery to one webhook, as the dispatcher sees it. */
export interface WebhookDelivery {
  eventId: string;
  eventType: string;
  /** A hash of the webhook URL (the URL itself is never stored: its path or query may hold a secret). */
  target: string;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: string;
  lastError?: string;
  lastStatus?: number;
  failedAt?: string;
  /** When an operator last sent it again after it was dead-lettered. */
  replayedAt?: string;
}

/** The webhooks any dispatcher was started with, and how many starts added to them (undefined: none yet). */
export interface KnownTargets {
  targets: string[];
  generation: number | undefined;
}

const numberOr = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** What a replay of a dead letter did. */
export type ReplayOutcome = 'replayed' | 'alreadyReplayed' | 'notFound';

const toDelivery = (item: Record<string, unknown>): WebhookDelivery => ({
  eventId: item.eventId as string,
  eventType: item.eventType as string,
  target: item.target as string,
  state: item.state as DeliveryState,
  attempts: item.attempts as number,
  nextAttemptAt: item.nextAttemptAt as string,
  ...(typeof item.lastError === 'string' ? { lastError: item.lastError } : {}),
  ...(typeof item.lastStatus === 'number' ? { lastStatus: item.lastStatus } : {}),
  ...(typeof item.failedAt === 'string' ? { failedAt: item.failedAt } : {}),
  ...(typeof item.replayedAt === 'string' ? { replayedAt: item.replayedAt } : {}),
});

/** The items of a page not past their `ttl`, each as `as` makes it. */
const unexpired = <T>(items: Record<string, unknown>[], now: Date, as: (item: Record<string, unknown>) => T): T[] =>
  items.filter((item) => !isExpired(item, now)).map(as);

/**
 * Outbound events and their webhook deliveries (docs/streams.md, "Outbound events"): an event item
 * (`PK=EVENT#<id>`, `SK=EVENT`, the exact JSON body in `payload`) and one delivery item per webhook
 * in the same partition, written together by the stream processor. Deliveries move between the GSI1
 * partitions `WEBHOOKS#DUE#<target>` (their webhook's, by due time) and `WEBHOOKS#DEAD`, and leave
 * them once delivered.
 */
@Injectable()
export class EventsRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    private readonly cursors: CursorCodec,
  ) {}

  /** Who hears of the due times this process writes (`watchDue`). */
  private readonly dueListeners = new Set<(target: string, dueAt: string) => void>();

  /**
   * Stores an event and one pending delivery per target, due at once, in one transaction on
   * condition that the event is new: a record handled twice writes nothing the second time
   * (`duplicate`), so a receiver is never sent an event twice because the stream repeated it.
   * An event naming a user (`ownerId`) is also conditioned on that user's item still existing:
   * a record processed after the user's erasure (which removed the user's events) must not store
   * their id again (`ownerGone`, nothing written).
   *
   * A `post.published` held back until a scheduled post's time (`deferred`) is due then (at once if
   * it has passed), lives 30 days from then, and is listed for admins only once sent: the first
   * due delivery's `payloads` reads the post again and stores the body (`publishDeferred`).
   */
  async record(
    event: OutboundEvent,
    ownerId: string | undefined,
    targets: readonly string[],
    now: Date,
    deferred?: DeferredPublication,
  ): Promise<'stored' | 'duplicate' | 'ownerGone'> {
    const at = now.toISOString();
    const dueAt = deferred && deferred.publishedAt > at ? deferred.publishedAt : at;
    const ttl = epochSeconds(new Date(dueAt)) + EVENT_TTL_SECONDS;
    try {
      await transactWrite(this.db, [
        {
          item: {
            Put: {
              TableName: this.tableName,
              Item: {
                ...Keys.outboundEvent(event.id),
                // Held back: no body until its time (a dispatcher of the version before, during a
                // rolling deploy, then drops its delivery rather than send it unchecked), not listed.
                ...(deferred
                  ? { heldBack: deferred }
                  : { ...EventIndexKeys.event(event.occurredAt, event.id), payload: JSON.stringify(event) }),
                ...(ownerId ? EventIndexKeys.owned(ownerId, event.occurredAt, event.id) : {}),
                entity: ENTITY.OutboundEvent,
                id: event.id,
                type: event.type,
                occurredAt: event.occurredAt,
                ttl,
              },
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
          onConditionFailed: () => new DuplicateEvent(),
        },
        ...targets.map((target) => ({
          item: {
            Put: {
              TableName: this.tableName,
              Item: {
                ...Keys.webhookDelivery(event.id, target),
                ...EventIndexKeys.due(dueAt, event.id, target),
                entity: ENTITY.WebhookDelivery,
                eventId: event.id,
                eventType: event.type,
                target,
                state: 'pending',
                attempts: 0,
                nextAttemptAt: dueAt,
                ttl,
              },
              ConditionExpression: 'attribute_not_exists(PK)',
            },
          },
        })),
        ...(ownerId ? [mustExist(this.tableName, Keys.user(ownerId), () => new OwnerGone())] : []),
      ]);
      for (const target of targets) this.announceDue(target, dueAt);
      return 'stored';
    } catch (error) {
      if (error instanceof DuplicateEvent) return 'duplicate';
      if (error instanceof OwnerGone) return 'ownerGone';
      throw error;
    }
  }

  /**
   * Events newest first: the shards of GSI1 `EVENTS#<n>` merged, per read. Expired ones (past their
   * `ttl`, which DynamoDB deletes up to days later) are not shown, and a page short by them is
   * filled from its cursor (`filledPage`: at most 2 more reads of the missing count, 8 Queries each).
   */
  listEvents(limit: number, cursor: string | undefined, now: Date): Promise<Page<OutboundEvent>> {
    return filledPage(limit, cursor, async (missing, from) => {
      const page = await queryShardedIndexPage(this.db, this.cursors, {
        tableName: this.tableName,
        index: INDEX_PATTERNS.events.index,
        base: EventIndexKeys.eventsBase,
        limit: missing,
        cursor: from,
      });
      return {
        items: unexpired(page.items, now, (item) => JSON.parse(item.payload as string) as OutboundEvent),
        nextCursor: page.nextCursor,
      };
    });
  }

  /**
   * Dead-lettered deliveries, newest first: one Query of GSI1 `WEBHOOKS#DEAD` per read; expired ones
   * not shown, and a page short by them filled from its cursor (at most 2 more Queries).
   */
  listDeadLetters(limit: number, cursor: string | undefined, now: Date): Promise<Page<WebhookDelivery>> {
    return filledPage(limit, cursor, async (missing, from) => {
      const page = await queryIndexPage(this.db, this.cursors, {
        tableName: this.tableName,
        index: INDEX_PATTERNS.deadDeliveries.index,
        partition: EventIndexKeys.deadPartition,
        limit: missing,
        cursor: from,
      });
      return { items: unexpired(page.items, now, toDelivery), nextCursor: page.nextCursor };
    });
  }

  /**
   * One webhook's pending deliveries due by `now`, the longest due first: one Query of `limit` items
   * of its GSI1 partition `WEBHOOKS#DUE#<target>` (migration 0013), from the head or after `after`
   * (the `lastKey` of a read before, which the caller keeps per webhook). The read has no upper
   * bound, so a page that reaches past `now` also says when the next delivery there is due
   * (`next`, its `nextAttemptAt`), which the dispatcher waits for before it reads the partition
   * again (review 22 W: an idle webhook cost a read per poll). `lastKey` is where the page ended
   * when there may be more due; none once the due ones were all read.
   */
  async dueDeliveries(
    target: string,
    now: Date,
    limit: number,
    after?: Record<string, unknown>,
  ): Promise<{ items: WebhookDelivery[]; lastKey?: Record<string, unknown>; next?: string }> {
    // `$` sorts just after `#`: every key below it is due `now` or earlier.
    const upper = `${now.toISOString()}$`;
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: INDEX_PATTERNS.dueDeliveries.index,
        KeyConditionExpression: 'GSI1PK = :pk',
        ExpressionAttributeValues: { ':pk': EventIndexKeys.duePartition(target) },
        ScanIndexForward: true,
        Limit: limit,
        // A position past `upper` (a clock set back) would skip what is due before it: from the head.
        ExclusiveStartKey: after && String(after.GSI1SK) < upper ? after : undefined,
      }),
    );
    const items = result.Items ?? [];
    const later = items.findIndex((item) => String(item.GSI1SK) >= upper);
    if (later < 0) return { items: items.map(toDelivery), lastKey: result.LastEvaluatedKey };
    return { items: items.slice(0, later).map(toDelivery), next: String(items[later].nextAttemptAt) };
  }

  /**
   * The webhooks (target ids) any dispatcher was started with, `configured` added first (review 22
   * W): those not configured now were removed from `WEBHOOK_URLS`, and their pending deliveries are
   * to be dropped. One `UpdateItem` (`ADD` to a string set and 1 to `generation`, `ALL_NEW`) of
   * `PK=WEBHOOKS#TARGETS`; a `GetItem` when none is configured. `generation` counts the starts that
   * added: a removed webhook is forgotten only while it has not moved since (`forgetTarget`).
   */
  async knownTargets(configured: readonly string[]): Promise<KnownTargets> {
    const key = Keys.webhookTargets;
    if (configured.length === 0) {
      const { Item } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }),
      );
      return {
        targets: [...((Item?.targets as Set<string> | undefined) ?? [])],
        generation: numberOr(Item?.generation),
      };
    }
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key,
        UpdateExpression: 'ADD #targets :configured, #generation :one SET #entity = :entity',
        ExpressionAttributeNames: { '#targets': 'targets', '#entity': 'entity', '#generation': 'generation' },
        ExpressionAttributeValues: {
          ':configured': new Set(configured),
          ':one': 1,
          ':entity': ENTITY.WebhookTargets,
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return {
      targets: [...((Attributes?.targets as Set<string> | undefined) ?? configured)],
      generation: numberOr(Attributes?.generation),
    };
  }

  /**
   * Takes a removed webhook out of `PK=WEBHOOKS#TARGETS` (session 23: the set only grew), on
   * condition that no dispatcher has started since `generation` was read (one that did may have
   * added it again, configured). One `UpdateItem` (`DELETE` from the set); false when the condition
   * failed.
   */
  async forgetTarget(target: string, generation: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.webhookTargets,
          UpdateExpression: 'DELETE #targets :target',
          ConditionExpression: '#generation = :generation',
          ExpressionAttributeNames: { '#targets': 'targets', '#generation': 'generation' },
          ExpressionAttributeValues: { ':target': new Set([target]), ':generation': generation },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  /**
   * Tells `listener` of every due time this process writes into a webhook's due partition (a new
   * delivery, a claim's next attempt, a replay): the dispatcher reads a partition only once
   * something there is due by what it knows (review 22 W).
   */
  watchDue(listener: (target: string, dueAt: string) => void): void {
    this.dueListeners.add(listener);
  }

  private announceDue(target: string, dueAt: string): void {
    for (const listener of this.dueListeners) listener(target, dueAt);
  }

  /**
   * Whether the one due partition of every webhook before migration 0013 (`WEBHOOKS#DUE`) is
   * retired: 0013 is applied, or the table was created at its layout or later. Until then the
   * dispatcher also reads it (`legacyDueDeliveries`). One consistent Query of the migration records.
   */
  async legacyDueRetired(): Promise<boolean> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': Keys.migrationPartition },
        ConsistentRead: true,
      }),
    );
    return Items.some((item) =>
      item.SK === Keys.migrationBaseline.SK
        ? Number(item.version) >= LEGACY_DUE_RETIRED_AT
        : item.SK === Keys.migration(LEGACY_DUE_RETIRED_AT).SK && item.status === 'applied',
    );
  }

  /**
   * Whether anything is due in the partition of every webhook before migration 0013
   * (`WEBHOOKS#DUE`): the dispatcher's look there once 0013 is applied, for a version before it
   * that still writes it (a rollback, an old image started later: review 21b M-a). One Query of
   * GSI1 with `Limit: 1` (0.5 RCU).
   */
  async legacyDueAny(now: Date): Promise<boolean> {
    const { Items = [] } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: INDEX_PATTERNS.dueDeliveries.index,
        KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK < :upper',
        ExpressionAttributeValues: { ':pk': EventIndexKeys.legacyDuePartition, ':upper': `${now.toISOString()}$` },
        Limit: 1,
      }),
    );
    return Items.length > 0;
  }

  /**
   * The due deliveries in the partition of every webhook before migration 0013 (what a version
   * before it wrote, during a rolling deploy, until 0013 has moved them): up to `limit` due by
   * `now`, the longest due first (one Query of GSI1 `WEBHOOKS#DUE`). Those of the `skipTargets` (webhooks with all their slots in flight) are
   * filtered out: then up to DUE_SKIP_PAGES pages of DUE_SKIP_PAGE_ITEMS are read, so that a
   * backlog of one slow webhook's deliveries at the head of the index does not hide the others'.
   * Such a read starts where the previous one with skips (same `position`) stopped, and at the head
   * again once one reached the partition's end: a backlog longer than one read's 1,000 items delays
   * another webhook's due delivery by ceil(backlog / 1,000) reads at most, never for good (review
   * 20c M1: every read started at the head, so past 1,000 held items the others got nothing).
   */
  async legacyDueDeliveries(
    now: Date,
    limit: number,
    skipTargets: readonly string[] = [],
    position: DueReadPosition = {},
  ): Promise<WebhookDelivery[]> {
    const skip = skipTargets.map((target, i) => [`:t${i}`, target] as const);
    const upper = `${now.toISOString()}$`;
    const found: WebhookDelivery[] = [];
    // A position past `upper` (a clock set back) is outside the key condition: start at the head.
    const resume = skip.length ? position.after : undefined;
    let start = resume && String(resume.GSI1SK) < upper ? resume : undefined;
    let pageStart = start;
    for (let page = 0; page < (skip.length ? DUE_SKIP_PAGES : 1) && found.length < limit; page++) {
      pageStart = start;
      const result = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEX_PATTERNS.dueDeliveries.index,
          KeyConditionExpression: 'GSI1PK = :pk AND GSI1SK < :upper',
          // `$` sorts just after `#`: every key whose due time is `now` or earlier.
          ExpressionAttributeValues: {
            ':pk': EventIndexKeys.legacyDuePartition,
            ':upper': upper,
            ...Object.fromEntries(skip),
          },
          ...(skip.length
            ? {
                FilterExpression: `NOT (#target IN (${skip.map(([name]) => name).join(', ')}))`,
                ExpressionAttributeNames: { '#target': 'target' },
              }
            : {}),
          ScanIndexForward: true,
          Limit: skip.length ? DUE_SKIP_PAGE_ITEMS : limit,
          ExclusiveStartKey: start,
        }),
      );
      found.push(...(result.Items ?? []).map(toDelivery));
      start = result.LastEvaluatedKey;
      if (!start) break;
    }
    // The next read with skips: again from the page that filled `limit` (its items past `limit` were
    // not returned), else after the last item examined; from the head once the end was reached.
    position.after = !skip.length ? undefined : found.length >= limit ? pageStart : start;
    return found.slice(0, limit);
  }

  /**
   * The JSON bodies of events by id (one BatchGetItem per 100); an erased or expired event is
   * missing, and so is a held-back publication withdrawn before its time, whose reason goes into
   * `withdrawn` (by event id) for its deliveries' `lastError` (session 23: they read "event gone").
   * A held-back one due now is settled first (`publishDeferred`: one consistent GetItem of the post
   * and one write).
   */
  async payloads(
    eventIds: readonly string[],
    now: Date,
    withdrawn = new Map<string, string>(),
  ): Promise<Map<string, string>> {
    const items = await batchGetAll(
      this.db,
      this.tableName,
      eventIds.map((id) => Keys.outboundEvent(id)),
    );
    const bodies = await Promise.all(
      items
        .filter((item) => !isExpired(item, now))
        .map(async (item) => {
          const settled = item.heldBack ? await this.publishDeferred(item) : item;
          if (settled.withdrawn === undefined) return [item.id as string, settled.payload] as const;
          withdrawn.set(item.id as string, String(settled.withdrawn));
          return [item.id as string, undefined] as const;
        }),
    );
    return new Map(bodies.filter((entry): entry is readonly [string, string] => typeof entry[1] === 'string'));
  }

  /**
   * Settles a held-back `post.published` at its time (docs/streams.md, "A scheduled post's time"):
   * reads the post (consistent GetItem) and, if it is still published at the scheduled time by the
   * same author, stores the body as the post is now and lists the event, in one transaction with a
   * check that the author's account is neither suspended, deactivated nor gone; else marks the event
   * `withdrawn` (its deliveries are then dropped). Either write is conditioned on the event still
   * being held back: another instance's settling stands, read back. The event as settled: its
   * `payload`, or why it was `withdrawn` (neither when it is gone).
   */
  private async publishDeferred(item: Record<string, unknown>): Promise<{ payload?: unknown; withdrawn?: unknown }> {
    const id = item.id as string;
    const deferred = item.heldBack as DeferredPublication;
    const { Item: post } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: Keys.post(deferred.postId), ConsistentRead: true }),
    );
    const outcome = publicationAt(id, deferred, post);
    const settle = (set: Record<string, unknown>) =>
      buildUpdate({
        set,
        remove: ['heldBack'],
        allowIndexAttributes: true,
        condition: { expression: 'attribute_exists(#heldBack)', names: { '#heldBack': 'heldBack' } },
      });
    const withdraw = async (reason: string) => {
      const update = settle({ withdrawn: reason });
      await this.db
        .send(new UpdateCommand({ TableName: this.tableName, Key: Keys.outboundEvent(id), ...update }))
        .catch((error: unknown) => {
          throw isConditionalCheckFailed(error) ? new AlreadySettled() : error;
        });
    };
    try {
      if ('withdrawn' in outcome) {
        await withdraw(outcome.withdrawn);
        return { withdrawn: outcome.withdrawn };
      }
      const payload = JSON.stringify(outcome.event);
      try {
        await transactWrite(this.db, [
          {
            item: {
              Update: {
                TableName: this.tableName,
                Key: Keys.outboundEvent(id),
                ...settle({ payload, ...EventIndexKeys.event(outcome.event.occurredAt, id) }),
              },
            },
            onConditionFailed: () => new AlreadySettled(),
          },
          {
            item: {
              ConditionCheck: {
                TableName: this.tableName,
                Key: Keys.user(deferred.authorId),
                ConditionExpression: 'attribute_exists(PK) AND NOT (#status IN (:suspended, :inactive))',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':suspended': 'suspended', ':inactive': 'inactive' },
              },
            },
            onConditionFailed: () => new AuthorOut(),
          },
        ]);
        return { payload };
      } catch (error) {
        if (!(error instanceof AuthorOut)) throw error;
        const reason = 'author suspended, deactivated or erased';
        await withdraw(reason);
        return { withdrawn: reason };
      }
    } catch (error) {
      if (!(error instanceof AlreadySettled)) throw error;
      // Settled by another instance meanwhile (or erased with its author): as it was left.
      const { Item: settled } = await this.db.send(
        new GetCommand({ TableName: this.tableName, Key: Keys.outboundEvent(id), ConsistentRead: true }),
      );
      return settled && !settled.heldBack ? settled : {};
    }
  }

  /**
   * Takes a due delivery for one attempt: counts the attempt and moves its due time to when the
   * next one would be (so a crash during the call retries then), on condition that no one else took
   * it meanwhile (same attempts, still pending). The index lags the table: a delivery read there
   * may already be done, which the condition catches. False when it was not taken.
   */
  async claim(delivery: WebhookDelivery, nextAttemptAt: Date): Promise<boolean> {
    const next = nextAttemptAt.toISOString();
    const claimed = await this.conditionally(delivery, {
      set: {
        attempts: delivery.attempts + 1,
        nextAttemptAt: next,
        ...EventIndexKeys.due(next, delivery.eventId, delivery.target),
      },
    });
    if (claimed) this.announceDue(delivery.target, next);
    return claimed;
  }

  /** The attempt succeeded: the delivery leaves the due partition for good. */
  delivered(delivery: WebhookDelivery, attempts: number, status: number, at: Date): Promise<boolean> {
    return this.conditionally(
      { ...delivery, attempts },
      {
        set: { state: 'delivered', deliveredAt: at.toISOString(), lastStatus: status },
        remove: ['GSI1PK', 'GSI1SK'],
      },
    );
  }

  /** The attempt failed and more are allowed: it stays due at the time the claim set. */
  failed(delivery: WebhookDelivery, attempts: number, error: string, status: number | undefined): Promise<boolean> {
    return this.conditionally(
      { ...delivery, attempts },
      { set: { lastError: error, lastStatus: status }, remove: status === undefined ? ['lastStatus'] : [] },
    );
  }

  /** No attempt left: the delivery moves to the dead-letter partition. */
  dead(delivery: WebhookDelivery, attempts: number, error: string, status: number | undefined, at: Date) {
    const failedAt = at.toISOString();
    return this.conditionally(
      { ...delivery, attempts },
      {
        set: {
          state: 'dead',
          failedAt,
          lastError: error,
          lastStatus: status,
          ...EventIndexKeys.dead(failedAt, delivery.eventId, delivery.target),
        },
        remove: status === undefined ? ['lastStatus'] : [],
      },
    );
  }

  /**
   * Sends a dead-lettered delivery again (the admin endpoint, `db:stream-replay`): back to
   * `pending` with a fresh count of attempts, due at once, on condition that it is still dead. Of
   * concurrent replays one changes it (`replayed`); the others find it already taken back
   * (`alreadyReplayed`) and change nothing, so a replay makes one new delivery however often it is
   * asked. `notFound` for no such delivery, or one that never died.
   */
  async replayDead(eventId: string, target: string, now: Date): Promise<ReplayOutcome> {
    const dueAt = now.toISOString();
    const update = buildUpdate({
      set: {
        state: 'pending',
        attempts: 0,
        nextAttemptAt: dueAt,
        replayedAt: dueAt,
        ...EventIndexKeys.due(dueAt, eventId, target),
      },
      add: { replays: 1 },
      allowIndexAttributes: true,
      condition: { expression: '#state = :dead', names: { '#state': 'state' }, values: { ':dead': 'dead' } },
    });
    const key = Keys.webhookDelivery(eventId, target);
    try {
      await this.db.send(new UpdateCommand({ TableName: this.tableName, Key: key, ...update }));
      this.announceDue(target, dueAt);
      return 'replayed';
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
    const found = await this.db.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    const item = found.Item;
    if (item?.entity !== ENTITY.WebhookDelivery || isExpired(item, now)) return 'notFound';
    return typeof item.replayedAt === 'string' ? 'alreadyReplayed' : 'notFound';
  }

  /** Its webhook is no longer configured, or its event is gone (erased, expired): nothing to send. */
  dropped(delivery: WebhookDelivery, reason: string): Promise<boolean> {
    return this.conditionally(delivery, {
      set: { state: 'dropped', lastError: reason },
      remove: ['GSI1PK', 'GSI1SK'],
    });
  }

  /** An update of a pending delivery on condition that its attempts are still `delivery.attempts`. */
  private async conditionally(delivery: WebhookDelivery, spec: Omit<UpdateSpec, 'condition'>): Promise<boolean> {
    const update = buildUpdate({
      ...spec,
      allowIndexAttributes: true,
      condition: {
        expression: '#state = :pending AND #attempts = :attempts',
        names: { '#state': 'state', '#attempts': 'attempts' },
        values: { ':pending': 'pending', ':attempts': delivery.attempts },
      },
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.webhookDelivery(delivery.eventId, delivery.target),
          ...update,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }
}
