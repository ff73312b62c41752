import { createHash } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import {
  type AppConfig,
  type OutboundEventType,
  WEBHOOK_MAX_ATTEMPTS,
  type WebhookEndpoint,
} from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { type DueReadPosition, EventsRepository, type WebhookDelivery } from './events.repository.js';
import { WebhookSender } from './webhook-sender.js';

/** Attempts in flight at once, over all webhooks. */
const POOL_SIZE = 25;
/**
 * Attempts in flight at once to one webhook: a receiver that never answers holds at most this many
 * slots (each until WEBHOOK_TIMEOUT_MS), and the others' deliveries go on in the rest (review 20a L3).
 */
export const WEBHOOK_IN_FLIGHT_PER_TARGET = 4;

/**
 * How often the dispatcher asks about the one due partition of the version before, `WEBHOOKS#DUE`
 * (by the process's monotonic clock): until migration 0013 is applied, whether it is (meanwhile it
 * reads that partition on every fill); after, whether anything is due there (a version before 0013
 * still writes it: a rollback, an old image started later), and then it reads it on every fill
 * until the next look.
 */
const LEGACY_CHECK_MS = 60_000;

/**
 * How long a due time this process wrote is kept after it was written, whatever a read of its
 * partition finds meanwhile: the index lags the table (a fraction of a second on DynamoDB; past
 * this, the loop's look at each partition in turn finds what a read missed).
 */
const INDEX_LAG_MS = 1_000;
/**
 * How long after asking the table which webhooks there were a dispatcher waits before it forgets a
 * removed one whose partition it found empty (`forget`): longer than a rolling deploy takes.
 */
export const WEBHOOK_FORGET_AFTER_MS = 3_600_000;

/** The `now` of a removed webhook's reads: every delivery there is dropped, due or not. */
const END_OF_TIME = new Date('9999-12-31T23:59:59.999Z');

/** A delivery in flight, by its event and webhook. */
const deliveryKey = (d: WebhookDelivery): string => `${d.eventId}.${d.target}`;

/** The stored name of a webhook: 16 hex characters of the SHA-256 of its URL. */
export const webhookTarget = (url: string): string => createHash('sha256').update(url).digest('hex').slice(0, 16);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });

/**
 * Delivers outbound events to the webhooks, apart from the stream: the stream processor only
 * stores an event and its pending deliveries, and this loop (run beside the poller) sends the due
 * ones. A receiver that is down delays only its own deliveries, never a shard, nor another
 * receiver's: attempts run in a pool of POOL_SIZE, at most WEBHOOK_IN_FLIGHT_PER_TARGET to one
 * webhook, and a slot that frees is filled from the due deliveries at once. Each attempt is
 * claimed first (a conditional update that counts it and sets the next due time), so two rounds
 * never send the same attempt, and a crash mid-call retries at the next due time: at least once,
 * receivers deduplicate on the event id. After WEBHOOK_MAX_ATTEMPTS (8) failures: dead letter.
 */
@Injectable()
export class WebhookDispatcher {
  private readonly logger = new Logger(WebhookDispatcher.name);
  /** Each webhook by its target id (the hash of its URL). */
  private readonly targets: Map<string, WebhookEndpoint>;
  private loop: Promise<void> | undefined;
  private stopping = new AbortController();
  private draining: Promise<number> | undefined;
  /** The attempts in flight, by delivery; and how many of them go to each webhook. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly busy = new Map<string, number>();
  /**
   * Where the next read of a webhook's due partition goes on from, when the last one found only
   * deliveries in flight or taken already (a lagging index): none, from the head.
   */
  private readonly duePosition = new Map<string, Record<string, unknown>>();
  /** Where the next read of the old partition past a full webhook's backlog goes on from (review 20c M1). */
  private readonly legacyPosition: DueReadPosition = {};
  /** Whose partition the next fill reads first (round-robin). */
  private turn = 0;
  /**
   * The due partitions read: the configured webhooks', then those of the webhooks removed from
   * `WEBHOOK_URLS` since a dispatcher was started with them (their deliveries are dropped). Known
   * once the first round has asked the table (`knownTargets`).
   */
  private partitions: string[] = [];
  private removed = new Set<string>();
  /**
   * The set's `generation` when this dispatcher asked (undefined: not known, or another dispatcher
   * started since, so nothing is forgotten for this process's life) and when, by the app's clock.
   */
  private known: { generation: number | undefined; at: number } = { generation: undefined, at: 0 };
  private partitionsKnown: Promise<void> | undefined;
  /**
   * When a partition is next worth a read in the loop (epoch ms, the app's clock): now while its
   * last read found something due; else when the first delivery there that was not yet due comes
   * due; never when it was empty. Unknown (not read yet): at once.
   */
  private readonly nextDue = new Map<string, number>();
  /**
   * The due times this process wrote to a partition (a delivery stored or replayed, a claim's next
   * attempt), kept until a read made INDEX_LAG_MS after the write: when the last one due at once
   * was written; the earliest one due later, and when the last such was written (monotonic ms).
   */
  private readonly written = new Map<string, { now?: number; later?: { dueAt: number; at: number } }>();
  /** The loop's look at one partition a poll whatever it knows (another instance's writes): whose next, and when last. */
  private relook = { turn: 0, at: Number.NEGATIVE_INFINITY };
  /**
   * Whether the old partition is retired (migration 0013 applied), whether to read it (not retired,
   * or the last look found something due there), and when the dispatcher last asked.
   */
  private legacy = { retired: false, read: true, checkedAt: Number.NEGATIVE_INFINITY };

  constructor(
    private readonly events: EventsRepository,
    private readonly sender: WebhookSender,
    private readonly metrics: AppMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {
    this.targets = new Map(config.webhooks.endpoints.map((endpoint) => [webhookTarget(endpoint.url), endpoint]));
    events.watchDue((target, dueAt) => {
      const due = Date.parse(dueAt);
      const at = performance.now();
      const written = this.written.get(target) ?? {};
      if (due <= this.clock.now().getTime()) written.now = at;
      else written.later = { dueAt: Math.min(due, written.later?.dueAt ?? due), at };
      this.written.set(target, written);
    });
  }

  /**
   * The targets (URL hashes) an event of `type` is delivered to: every webhook without a filter,
   * and those whose filter names the type. Decided when the event is stored: a filter changed
   * later does not take back deliveries already pending.
   */
  targetIds(type: OutboundEventType): string[] {
    return [...this.targets].filter(([, { events }]) => !events || events.includes(type)).map(([id]) => id);
  }

  /** Runs the loop: while a webhook is configured, or a removed one's deliveries are still to be dropped. */
  start(): void {
    if (this.loop) return;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    if (!this.loop) return;
    this.stopping.abort();
    await this.loop;
    this.loop = undefined;
    this.stopping = new AbortController();
  }

  /**
   * Sends what is due until nothing is due and nothing is in flight; the number of deliveries
   * changed. For the loop, the tests and the Lambda schedule. A failed attempt is due again only
   * after its backoff. Concurrent calls share one run.
   */
  dispatchDue(): Promise<number> {
    return this.round(false);
  }

  /**
   * The loop's round: as `dispatchDue`, but a partition is read only once something there is due
   * by what this dispatcher knows (what its reads found, and the due times this process wrote),
   * plus one partition a poll, in turn, whatever it knows, for what other processes wrote (another
   * worker, the API's replay of a dead letter, a version before this one): an idle poll reads one
   * partition, not one per webhook (review 22 W), and another process's delivery waits at most one
   * poll per partition before it is seen.
   */
  poll(): Promise<number> {
    return this.round(true);
  }

  private round(known: boolean): Promise<number> {
    this.draining ??= this.drain(known).finally(() => (this.draining = undefined));
    return this.draining;
  }

  /** The webhooks removed from `WEBHOOK_URLS` since a dispatcher was started with them, asked once (review 22 W). */
  private knowPartitions(): Promise<void> {
    this.partitionsKnown ??= (async () => {
      const configured = [...this.targets.keys()];
      const known = await this.events.knownTargets(configured);
      this.known = { generation: known.generation, at: this.clock.now().getTime() };
      this.removed = new Set(known.targets.filter((target) => !this.targets.has(target)));
      this.partitions = [...configured, ...this.removed];
      if (this.removed.size > 0) {
        this.logger.log(`dropping the pending deliveries of ${this.removed.size} webhook(s) no longer configured`);
      }
    })().catch((error: unknown) => {
      this.partitionsKnown = undefined; // asked again next round
      throw error;
    });
    return this.partitionsKnown;
  }

  private async run(): Promise<void> {
    while (!this.stopping.signal.aborted) {
      try {
        await this.poll();
        // No webhook configured, none removed: nothing to do for this process's life.
        if (this.partitions.length === 0) return;
      } catch (error) {
        this.logger.warn(
          `webhook round failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        );
      }
      await sleep(this.config.webhooks.pollMs, this.stopping.signal);
    }
  }

  /**
   * Fills the free slots with due deliveries, then waits for a slot to free (or WEBHOOK_POLL_MS,
   * for deliveries that came due meanwhile), and again. An attempt that changed nothing (another
   * round or instance took it, or a lagging index showed it again) is not taken again in this run;
   * a webhook found with nothing due is read again in this run only WEBHOOK_POLL_MS later.
   */
  private async drain(known: boolean): Promise<number> {
    await this.knowPartitions();
    if (this.partitions.length === 0) return 0;
    const counted = { changed: 0 };
    const unchanged = new Set<string>();
    const idle = new Map<string, number>();
    for (;;) {
      const started = this.stopping.signal.aborted ? 0 : await this.fill(counted, unchanged, idle, known);
      if (this.inFlight.size === 0) {
        if (started === 0) return counted.changed;
        continue;
      }
      const waited = new AbortController();
      const poll = sleep(this.config.webhooks.pollMs, AbortSignal.any([this.stopping.signal, waited.signal]));
      await Promise.race([...this.inFlight.values(), poll]);
      waited.abort(); // its timer and listener go with it
    }
  }

  /**
   * Starts attempts at due deliveries in the free slots; how many it started. Reads the due
   * partition of each webhook with a free slot (one page of WEBHOOK_IN_FLIGHT_PER_TARGET, all at
   * once, at most as many webhooks as free slots), beginning after the last webhook the previous
   * fill read. A full webhook costs no read; one whose partition had nothing due (idle, or all its
   * deliveries backing off) is read once per WEBHOOK_POLL_MS, not on every fill in between; and one
   * slow receiver never delays another's deliveries, which are in their own partition.
   */
  private async fill(
    counted: { changed: number },
    unchanged: Set<string>,
    idle: Map<string, number>,
    known: boolean,
  ): Promise<number> {
    const free = POOL_SIZE - this.inFlight.size;
    if (free <= 0) return 0;
    const now = this.clock.now();
    const seen = (d: WebhookDelivery) => `${deliveryKey(d)}.${d.attempts}`;
    const startable = (d: WebhookDelivery) => !this.inFlight.has(deliveryKey(d)) && !unchanged.has(seen(d));
    const ids = this.partitions;
    const first = this.turn % ids.length;
    const roomy = [...ids.slice(first), ...ids.slice(0, first)].filter(
      (target) =>
        (this.busy.get(target) ?? 0) < WEBHOOK_IN_FLIGHT_PER_TARGET &&
        performance.now() - (idle.get(target) ?? Number.NEGATIVE_INFINITY) >= this.config.webhooks.pollMs,
    );
    const open = known ? this.worthReading(roomy, now.getTime()) : roomy;
    const read = open.slice(0, free);
    // The next fill begins after the last webhook read: none is passed over for long.
    if (read.length) this.turn = ids.indexOf(read.at(-1)!) + 1;
    const full = ids.filter((target) => (this.busy.get(target) ?? 0) >= WEBHOOK_IN_FLIGHT_PER_TARGET);
    const pages = await Promise.all([
      ...read.map((target) => this.dueOf(target, this.removed.has(target) ? END_OF_TIME : now, startable, idle)),
      this.legacyDue(now, free, full),
    ]);
    const due = pages.flat().filter(startable);
    if (due.length === 0) return 0;
    // A removed webhook's deliveries are dropped: their events' bodies are not read.
    const sent = due.filter((d) => this.targets.has(d.target));
    const withdrawn = new Map<string, string>();
    const payloads = await this.events.payloads([...new Set(sent.map((d) => d.eventId))], now, withdrawn);
    let started = 0;
    for (const delivery of due) {
      const key = deliveryKey(delivery);
      const busy = this.busy.get(delivery.target) ?? 0;
      if (this.inFlight.size >= POOL_SIZE) break;
      if (busy >= WEBHOOK_IN_FLIGHT_PER_TARGET || this.inFlight.has(key)) continue;
      this.busy.set(delivery.target, busy + 1);
      started++;
      const body = payloads.get(delivery.eventId);
      const attempt = this.attempt(delivery, body ?? { withdrawn: withdrawn.get(delivery.eventId) })
        .then(
          (changed) => {
            if (changed) counted.changed++;
            else unchanged.add(seen(delivery));
          },
          (error: unknown) => {
            unchanged.add(seen(delivery));
            this.logger.warn(
              `webhook attempt at ${delivery.eventId} to ${delivery.target} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
            );
          },
        )
        .finally(() => {
          this.inFlight.delete(key);
          const left = (this.busy.get(delivery.target) ?? 1) - 1;
          if (left > 0) this.busy.set(delivery.target, left);
          else this.busy.delete(delivery.target);
        });
      this.inFlight.set(key, attempt);
    }
    return started;
  }

  /**
   * A page of one webhook's due deliveries. One that holds nothing to start (all in flight, or
   * taken by another instance while the index lags) is read past next time, so such deliveries at
   * the head never hide the rest; the read is from the head again once it reached the end or found
   * something.
   */
  private async dueOf(
    target: string,
    now: Date,
    startable: (d: WebhookDelivery) => boolean,
    idle: Map<string, number>,
  ): Promise<WebhookDelivery[]> {
    const readAt = performance.now();
    const { items, lastKey, next } = await this.events.dueDeliveries(
      target,
      now,
      WEBHOOK_IN_FLIGHT_PER_TARGET,
      this.duePosition.get(target),
    );
    if (lastKey && !items.some(startable)) this.duePosition.set(target, lastKey);
    else this.duePosition.delete(target);
    if (items.length === 0) idle.set(target, performance.now());
    else idle.delete(target);
    // A removed webhook's partition read to its end and found empty: nothing of it left to drop.
    if (this.removed.has(target) && items.length === 0 && !lastKey) await this.forget(target);
    // What this read found due next (a removed webhook's `now` is the end of time: the app's clock
    // here); a due time written here since shortly before the read is kept (the index lags).
    const found = items.length > 0 || lastKey ? this.clock.now().getTime() : next && Date.parse(next);
    this.nextDue.set(target, found || Number.POSITIVE_INFINITY);
    const written = this.written.get(target);
    if (written) {
      const before = readAt - INDEX_LAG_MS;
      if ((written.now ?? before) < before) delete written.now;
      if ((written.later?.at ?? before) < before) delete written.later;
      if (written.now === undefined && !written.later) this.written.delete(target);
    }
    return items;
  }

  /**
   * Forgets a removed webhook whose partition holds no pending delivery (session 23: the set of
   * known webhooks only grew, and each removed one cost a read in turn for good): out of
   * `PK=WEBHOOKS#TARGETS` and of this dispatcher's partitions, once WEBHOOK_FORGET_AFTER_MS have
   * passed since this dispatcher asked the table, and only if no dispatcher started since (the
   * set's `generation`). So an instance with the old list, during a rolling deploy (over well before
   * then), has stopped writing its deliveries, and a dispatcher started since with the webhook
   * configured again keeps it.
   */
  private async forget(target: string): Promise<void> {
    const { generation, at } = this.known;
    if (generation === undefined || this.clock.now().getTime() - at < WEBHOOK_FORGET_AFTER_MS) return;
    if (!(await this.events.forgetTarget(target, generation))) {
      this.known = { generation: undefined, at }; // another dispatcher started: nothing is forgotten by this one
      return;
    }
    this.removed.delete(target);
    this.partitions = this.partitions.filter((id) => id !== target);
    this.nextDue.delete(target);
    this.duePosition.delete(target);
    this.written.delete(target);
    this.logger.log(`forgot webhook ${target}: no longer configured, and none of its deliveries is pending`);
  }

  /**
   * Of the partitions with room (in turn order), those the loop reads: the ones with something due
   * by what this dispatcher knows, and once per WEBHOOK_POLL_MS the next one in turn whatever it
   * knows (for other processes' writes).
   */
  private worthReading(roomy: readonly string[], now: number): string[] {
    const due = (target: string) => {
      const written = this.written.get(target);
      const next = Math.min(
        this.nextDue.get(target) ?? Number.NEGATIVE_INFINITY,
        written?.now !== undefined ? now : (written?.later?.dueAt ?? Number.POSITIVE_INFINITY),
      );
      return next <= now;
    };
    const open = roomy.filter(due);
    if (performance.now() - this.relook.at < this.config.webhooks.pollMs) return open;
    const ids = this.partitions;
    for (let i = 0; i < ids.length; i++) {
      const target = ids[(this.relook.turn + i) % ids.length];
      if (!roomy.includes(target)) continue;
      this.relook = { turn: (this.relook.turn + i + 1) % ids.length, at: performance.now() };
      return open.includes(target) ? open : [target, ...open];
    }
    return open;
  }

  /**
   * The due deliveries in the old partition (`WEBHOOKS#DUE`, written by a version before migration
   * 0013), those of `skip` (the full webhooks) left out. Once per LEGACY_CHECK_MS: while 0013 is not
   * applied, asks whether it is (read on every fill meanwhile); once it is (never asked again), looks
   * whether anything is due there (one Query of `Limit: 1`) and reads it on every fill until the next
   * look only if so. So a delivery a version before writes after 0013 (a rollback, an old image
   * started later) still goes out, and its claim moves it to the new partition (review 21b M-a: the
   * old partition was read no more once 0013 was applied, and such deliveries were stranded).
   */
  private async legacyDue(now: Date, limit: number, skip: readonly string[]): Promise<WebhookDelivery[]> {
    if (performance.now() - this.legacy.checkedAt >= LEGACY_CHECK_MS) {
      const retired = this.legacy.retired || (await this.events.legacyDueRetired());
      const read = !retired || (await this.events.legacyDueAny(now));
      this.legacy = { retired, read, checkedAt: performance.now() };
    }
    if (!this.legacy.read) return [];
    return this.events.legacyDueDeliveries(now, limit, skip, this.legacyPosition);
  }

  /**
   * Whether the delivery changed (an attempt made, dropped, dead-lettered); false when another round
   * took it. No body: the event is gone, or a held-back publication was withdrawn (why, if known).
   */
  private async attempt(delivery: WebhookDelivery, body: string | { withdrawn?: string }): Promise<boolean> {
    const outcomes = this.metrics.webhookDeliveries();
    const url = this.targets.get(delivery.target)?.url;
    if (!url || typeof body !== 'string') {
      const gone =
        typeof body !== 'string' && body.withdrawn ? `withdrawn: ${body.withdrawn}` : 'event gone (erased or expired)';
      const dropped = await this.events.dropped(delivery, url ? gone : 'webhook no longer configured');
      if (dropped) outcomes.inc({ outcome: 'dropped' });
      return dropped;
    }
    if (delivery.attempts >= WEBHOOK_MAX_ATTEMPTS) {
      // Its last attempt was claimed but its outcome never written (a crash): it counts as failed.
      const error = delivery.lastError ?? 'no outcome recorded';
      const dead = await this.events.dead(delivery, delivery.attempts, error, delivery.lastStatus, this.clock.now());
      if (dead) outcomes.inc({ outcome: 'dead' });
      return dead;
    }
    const attempts = delivery.attempts + 1;
    if (!(await this.events.claim(delivery, this.retryAt(attempts)))) return false;
    const result = await this.sender.send(url, delivery.eventId, delivery.eventType, body);
    const claimed = { ...delivery, attempts };
    if (result.ok) {
      await this.events.delivered(claimed, attempts, result.status!, this.clock.now());
      outcomes.inc({ outcome: 'delivered' });
      return true;
    }
    const error = result.error ?? 'failed';
    if (attempts >= WEBHOOK_MAX_ATTEMPTS) {
      await this.events.dead(claimed, attempts, error, result.status, this.clock.now());
      outcomes.inc({ outcome: 'dead' });
      // The event id and target hash only: the URL may hold the receiver's secret.
      this.logger.warn(
        `webhook delivery of ${delivery.eventId} to ${delivery.target} dead after ${attempts} attempts: ${error}`,
      );
    } else {
      await this.events.failed(claimed, attempts, error, result.status);
      outcomes.inc({ outcome: 'failed' });
    }
    return true;
  }

  /** When attempt `n + 1` is due if attempt `n` fails: the base, doubling, capped. */
  private retryAt(attempt: number): Date {
    const { retryBaseMs, retryMaxMs } = this.config.webhooks;
    const wait = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(attempt - 1, 30));
    return new Date(this.clock.now().getTime() + wait);
  }
}
