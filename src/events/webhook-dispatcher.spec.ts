import { jest } from '@jest/globals';
import { SettableClock } from '../common/clock/clock.js';
import { type AppConfig, type OutboundEventType, WEBHOOK_MAX_ATTEMPTS } from '../config/app-config.js';
import type { AppMetrics } from '../metrics/app-metrics.js';
import type { EventsRepository, WebhookDelivery } from './events.repository.js';
import {
  WEBHOOK_FORGET_AFTER_MS,
  WEBHOOK_IN_FLIGHT_PER_TARGET,
  WebhookDispatcher,
  webhookTarget,
} from './webhook-dispatcher.js';
import type { AttemptResult, WebhookSender } from './webhook-sender.js';

const NOW = '2026-05-15T12:00:00.000Z';
const A = 'https://a.example/hook';
const B = 'https://b.example/hook?key=receiver-secret';

/**
 * The collaborators faked at their tokens: deliveries in memory with the repository's conditional
 * claim (a delivery is claimed once per attempt), a sender whose answers a spec scripts per URL,
 * and counters of outcomes.
 */
function setUp(
  urls: string[] = [A, B],
  events?: Record<string, OutboundEventType[]>,
  pollMs = 1000,
  /** The webhooks a dispatcher was started with before (`PK=WEBHOOKS#TARGETS`), by URL. */
  startedWith: string[] = [],
) {
  const clock = new SettableClock().set(NOW);
  const deliveries: WebhookDelivery[] = [];
  const registry = new Set(startedWith.map(webhookTarget));
  /** How many dispatcher starts added to the set (its `generation`). */
  const starts = { generation: startedWith.length > 0 ? 1 : 0 };
  /** The dispatcher hears of the due times this process writes, as from the repository. */
  const listeners: ((target: string, dueAt: string) => void)[] = [];
  const announce = (target: string, dueAt: string) => listeners.forEach((listener) => listener(target, dueAt));
  /** Deliveries still in the old partition `WEBHOOKS#DUE` (by event and target), and whether 0013 retired it. */
  const legacy = new Set<string>();
  const migration = { retired: true };
  const keyOf = (d: WebhookDelivery) => `${d.eventId}.${d.target}`;
  const payloads = new Map<string, string>();
  /** Held-back publications withdrawn at their time, and why. */
  const withdrawnReasons = new Map<string, string>();
  const due = (now: Date) =>
    deliveries.filter((d) => d.state === 'pending' && d.nextAttemptAt <= now.toISOString()).map((d) => ({ ...d }));
  /** A delivery stored by this process (its due time announced), or with `elsewhere` by another one. */
  const enqueue = (
    eventId: string,
    url: string,
    overrides: Partial<WebhookDelivery> = {},
    old = false,
    elsewhere = false,
  ) => {
    if (old) legacy.add(`${eventId}.${webhookTarget(url)}`);
    payloads.set(eventId, `{"id":"${eventId}"}`);
    const delivery: WebhookDelivery = {
      eventId,
      eventType: 'post.published',
      target: webhookTarget(url),
      state: 'pending',
      attempts: 0,
      nextAttemptAt: clock.now().toISOString(),
      ...overrides,
    };
    deliveries.push(delivery);
    if (!old && !elsewhere) announce(delivery.target, delivery.nextAttemptAt);
  };
  const find = (d: WebhookDelivery) => deliveries.find((x) => x.eventId === d.eventId && x.target === d.target)!;
  const repository = {
    // The head of the partition, oldest due first: the due ones, and when the first one not yet due is.
    dueDeliveries: jest.fn((target: string, now: Date, limit: number, _after?: Record<string, unknown>) => {
      const page = deliveries
        .filter((d) => d.state === 'pending' && d.target === target && !legacy.has(keyOf(d)))
        .sort((a, b) => a.nextAttemptAt.localeCompare(b.nextAttemptAt))
        .slice(0, limit)
        .map((d) => ({ ...d }));
      const later = page.findIndex((d) => d.nextAttemptAt > now.toISOString());
      return Promise.resolve(
        later < 0 ? { items: page } : { items: page.slice(0, later), next: page[later].nextAttemptAt },
      );
    }),
    knownTargets: jest.fn((configured: readonly string[]) => {
      configured.forEach((target) => registry.add(target));
      if (configured.length > 0) starts.generation++;
      return Promise.resolve({ targets: [...registry], generation: starts.generation });
    }),
    // Conditioned on no start since the generation read, as the table's.
    forgetTarget: jest.fn((target: string, generation: number) => {
      if (generation !== starts.generation) return Promise.resolve(false);
      registry.delete(target);
      return Promise.resolve(true);
    }),
    watchDue: jest.fn((listener: (target: string, dueAt: string) => void) => void listeners.push(listener)),
    legacyDueDeliveries: jest.fn((now: Date, limit: number, skipTargets: readonly string[] = []) =>
      Promise.resolve(
        due(now)
          .filter((d) => legacy.has(keyOf(d)) && !skipTargets.includes(d.target))
          .slice(0, limit),
      ),
    ),
    legacyDueRetired: jest.fn(() => Promise.resolve(migration.retired)),
    legacyDueAny: jest.fn((now: Date) => Promise.resolve(due(now).some((d) => legacy.has(keyOf(d))))),
    payloads: jest.fn((ids: readonly string[], _now: Date, withdrawn?: Map<string, string>) => {
      for (const id of ids) if (withdrawnReasons.has(id)) withdrawn?.set(id, withdrawnReasons.get(id)!);
      return Promise.resolve(new Map(ids.filter((id) => payloads.has(id)).map((id) => [id, payloads.get(id)!])));
    }),
    claim: jest.fn((d: WebhookDelivery, nextAttemptAt: Date) => {
      const stored = find(d);
      // Conditional on the attempts it read: a round that read it before another claimed it loses.
      if (stored.state !== 'pending' || stored.attempts !== d.attempts) return Promise.resolve(false);
      legacy.delete(keyOf(d)); // the claim writes the new layout's due keys
      Object.assign(stored, { attempts: d.attempts + 1, nextAttemptAt: nextAttemptAt.toISOString() });
      announce(d.target, stored.nextAttemptAt);
      return Promise.resolve(true);
    }),
    delivered: jest.fn((d: WebhookDelivery, _attempts: number, _status: number, _at: Date) => {
      find(d).state = 'delivered';
      return Promise.resolve(true);
    }),
    failed: jest.fn((d: WebhookDelivery, _attempts: number, error: string, _status?: number) => {
      find(d).lastError = error;
      return Promise.resolve(true);
    }),
    dead: jest.fn((d: WebhookDelivery, _attempts: number, _error: string, _status: number | undefined, _at: Date) => {
      find(d).state = 'dead';
      return Promise.resolve(true);
    }),
    dropped: jest.fn((d: WebhookDelivery, _reason: string) => {
      find(d).state = 'dropped';
      return Promise.resolve(true);
    }),
  };
  const answers = new Map<string, AttemptResult>();
  const sender = {
    send: jest.fn((url: string, _eventId: string, _type: string, _body: string) =>
      Promise.resolve(answers.get(url) ?? { ok: true, status: 204 }),
    ),
  };
  const outcomes: string[] = [];
  const metrics = { webhookDeliveries: () => ({ inc: ({ outcome }: { outcome: string }) => outcomes.push(outcome) }) };
  const config = {
    webhooks: {
      endpoints: urls.map((url) => ({ url, events: events?.[url] })),
      secret: 's',
      previousSecret: '',
      timeoutMs: 1000,
      retryBaseMs: 1000,
      retryMaxMs: 5000,
      pollMs,
    },
  } as unknown as AppConfig;
  const dispatcher = new WebhookDispatcher(
    repository as unknown as EventsRepository,
    sender as unknown as WebhookSender,
    metrics as unknown as AppMetrics,
    config,
    clock,
  );
  return {
    dispatcher,
    clock,
    deliveries,
    payloads,
    withdrawnReasons,
    enqueue,
    events: repository,
    sender,
    answers,
    outcomes,
    migration,
    legacy,
    registry,
    starts,
  };
}

/** Moves `performance.now()` by hand (the dispatcher's poll interval and index lag are monotonic). */
function monotonicClock() {
  const at = { ms: 1_000_000 };
  const spy = jest.spyOn(performance, 'now').mockImplementation(() => at.ms);
  return { at, restore: () => spy.mockRestore() };
}

/** Makes the sender's calls hang until answered: one by one (`hanging`), or all from now on (`answerAll`). */
function holdCalls(sender: ReturnType<typeof setUp>['sender']) {
  const hanging: (() => void)[] = [];
  let answering = false;
  sender.send.mockImplementation(() =>
    answering
      ? Promise.resolve({ ok: true, status: 204 })
      : new Promise<AttemptResult>((resolve) => hanging.push(() => resolve({ ok: true, status: 204 }))),
  );
  const answerAll = () => {
    answering = true;
    hanging.splice(0).forEach((answer) => answer());
  };
  return { hanging, answerAll };
}

/** Resolves once `condition` holds (checked every 5 ms), or fails after `ms`. */
async function waitFor(condition: () => boolean, ms = 5000): Promise<void> {
  for (const until = Date.now() + ms; !condition();) {
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('WebhookDispatcher', () => {
  it('an event goes to every webhook without a filter and to those whose filter names its type', () => {
    const { dispatcher } = setUp([A, B], { [B]: ['comment.created'] });
    expect(dispatcher.targetIds('post.published')).toEqual([webhookTarget(A)]);
    expect(dispatcher.targetIds('comment.created')).toEqual([webhookTarget(A), webhookTarget(B)]);
  });

  it('sends each due delivery once, to its own URL with the stored body, and records it delivered', async () => {
    const { dispatcher, enqueue, sender, events, outcomes, deliveries } = setUp();
    enqueue('e1', A);
    enqueue('e1', B);
    expect(await dispatcher.dispatchDue()).toBe(2);
    expect(sender.send.mock.calls.sort()).toEqual([
      [A, 'e1', 'post.published', '{"id":"e1"}'],
      [B, 'e1', 'post.published', '{"id":"e1"}'],
    ]);
    expect(events.delivered.mock.calls.map(([, attempts, status]) => [attempts, status])).toEqual([
      [1, 204],
      [1, 204],
    ]);
    expect(outcomes).toEqual(['delivered', 'delivered']);
    expect(deliveries.map((d) => d.state)).toEqual(['delivered', 'delivered']);
    expect(await dispatcher.dispatchDue()).toBe(0);
  });

  it("a failed attempt is due again only after its backoff on the app's clock: the base, doubling, capped", async () => {
    const { dispatcher, enqueue, answers, clock, sender, deliveries } = setUp([A]);
    answers.set(A, { ok: false, status: 500, error: 'HTTP 500' });
    enqueue('e1', A);
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      expect(await dispatcher.dispatchDue()).toBe(1);
      const wait = Date.parse(deliveries[0].nextAttemptAt) - clock.now().getTime();
      waits.push(wait);
      // Not due a moment before its time, due at it.
      clock.advance(wait - 1);
      expect(await dispatcher.dispatchDue()).toBe(0);
      clock.advance(1);
    }
    expect(waits).toEqual([1000, 2000, 4000, 5000, 5000]);
    expect(sender.send).toHaveBeenCalledTimes(5);
    expect(deliveries[0]).toMatchObject({ state: 'pending', attempts: 5, lastError: 'HTTP 500' });
  });

  it(`dead-letters a delivery after ${WEBHOOK_MAX_ATTEMPTS} failed attempts, and sends it no more`, async () => {
    const { dispatcher, enqueue, answers, clock, sender, events, outcomes } = setUp([A]);
    answers.set(A, { ok: false, error: 'timeout after 1000 ms' });
    enqueue('e1', A);
    for (let round = 0; round < WEBHOOK_MAX_ATTEMPTS + 2; round++) {
      await dispatcher.dispatchDue();
      clock.advance(60_000);
    }
    expect(sender.send).toHaveBeenCalledTimes(WEBHOOK_MAX_ATTEMPTS);
    expect(events.dead.mock.calls.map(([, attempts, error]) => [attempts, error])).toEqual([
      [WEBHOOK_MAX_ATTEMPTS, 'timeout after 1000 ms'],
    ]);
    expect(outcomes).toEqual([...Array<string>(WEBHOOK_MAX_ATTEMPTS - 1).fill('failed'), 'dead']);
  });

  it('a last attempt claimed but never recorded (a crash) counts as failed: dead, without another call', async () => {
    const { dispatcher, enqueue, sender, events } = setUp([A]);
    enqueue('e1', A, { attempts: WEBHOOK_MAX_ATTEMPTS, lastError: 'HTTP 502', lastStatus: 502 });
    expect(await dispatcher.dispatchDue()).toBe(1);
    expect(sender.send).not.toHaveBeenCalled();
    expect(events.dead.mock.calls.map(([, attempts, error, status]) => [attempts, error, status])).toEqual([
      [WEBHOOK_MAX_ATTEMPTS, 'HTTP 502', 502],
    ]);
  });

  it('drops, without a call, a delivery (in the old partition) to a webhook no longer configured or of an event that is gone', async () => {
    const { dispatcher, enqueue, payloads, withdrawnReasons, sender, events, outcomes, migration } = setUp([A]);
    // What the old partition holds for a webhook no longer configured is dropped too.
    migration.retired = false;
    enqueue('e1', 'https://removed.example/hook', {}, true);
    enqueue('e2', A);
    payloads.delete('e2');
    // A held-back post.published withdrawn at its time says why (session 23: it read "event gone").
    enqueue('e3', A);
    payloads.delete('e3');
    withdrawnReasons.set('e3', 'post deleted before its time');
    expect(await dispatcher.dispatchDue()).toBe(3);
    expect(sender.send).not.toHaveBeenCalled();
    expect(events.dropped.mock.calls.map(([d, reason]) => [d.eventId, reason]).sort()).toEqual([
      ['e1', 'webhook no longer configured'],
      ['e2', 'event gone (erased or expired)'],
      ['e3', 'withdrawn: post deleted before its time'],
    ]);
    expect(outcomes).toEqual(['dropped', 'dropped', 'dropped']);
  });

  it('concurrent calls share one round: every attempt is sent once', async () => {
    const { dispatcher, enqueue, sender } = setUp();
    enqueue('e1', A);
    enqueue('e2', B);
    const made = await Promise.all([dispatcher.dispatchDue(), dispatcher.dispatchDue(), dispatcher.dispatchDue()]);
    expect(made.every((n) => n === 2)).toBe(true);
    expect(sender.send).toHaveBeenCalledTimes(2);
  });

  it('an attempt another instance claimed first is not sent', async () => {
    const { dispatcher, enqueue, sender, events } = setUp([A]);
    enqueue('e1', A);
    events.claim.mockResolvedValueOnce(false);
    expect(await dispatcher.dispatchDue()).toBe(0);
    expect(sender.send).not.toHaveBeenCalled();
  });

  it(`a webhook that never answers holds at most ${WEBHOOK_IN_FLIGHT_PER_TARGET} attempts in flight; the others' deliveries keep flowing (review 20a L3)`, async () => {
    const { dispatcher, enqueue, sender, deliveries, events } = setUp([A, B]);
    /** A's calls hang (a receiver that accepts and never answers) until `answer` is called. */
    const hanging: (() => void)[] = [];
    let answering = false;
    sender.send.mockImplementation((url: string) =>
      url !== A || answering
        ? Promise.resolve({ ok: true, status: 204 })
        : new Promise<AttemptResult>((resolve) => hanging.push(() => resolve({ ok: true, status: 204 }))),
    );
    // Interleaved as the stream stores them: each event's deliveries to A and B share a due time.
    for (let i = 0; i < 40; i++) {
      enqueue(`e${String(i).padStart(2, '0')}`, A);
      enqueue(`e${String(i).padStart(2, '0')}`, B);
    }
    const to = (url: string) => sender.send.mock.calls.filter(([called]) => called === url).length;
    const drained = dispatcher.dispatchDue();
    const answerAll = () => {
      answering = true;
      hanging.forEach((answer) => answer());
    };
    const reads = (target: string) => events.dueDeliveries.mock.calls.filter(([t]) => t === target).length;
    const readsOfA = { atFull: -1, whileFull: -2 };
    try {
      await waitFor(() => to(A) === WEBHOOK_IN_FLIGHT_PER_TARGET);
      readsOfA.atFull = reads(webhookTarget(A));
      // B gets all 40 while A's first 4 attempts are still hanging (rounds of 25 waited for them: B stopped at 12).
      await waitFor(() => to(B) === 40);
      expect(to(A)).toBe(WEBHOOK_IN_FLIGHT_PER_TARGET);
      // An event stored meanwhile goes out to B too, without waiting for A.
      enqueue('e99', B);
      await waitFor(() => to(B) === 41);
      expect(to(A)).toBe(WEBHOOK_IN_FLIGHT_PER_TARGET);
      readsOfA.whileFull = reads(webhookTarget(A));
    } finally {
      // A answers again (also when an expectation failed, so that the run ends).
      answerAll();
    }
    // Its backlog goes out, and the run ends with everything delivered.
    expect(await drained).toBe(81);
    expect(to(A)).toBe(40);
    expect(deliveries.every((d) => d.state === 'delivered')).toBe(true);
    // While its 4 hung, A's partition was not read: a full webhook costs no read.
    expect(readsOfA.whileFull).toBe(readsOfA.atFull);
  });

  it('a webhook found with nothing due is read again in a run only after WEBHOOK_POLL_MS, not on every fill', async () => {
    // A minute between polls: however slow the machine, the test's fills all fall within one.
    const { dispatcher, enqueue, sender, events } = setUp([A, B], undefined, 60_000);
    const { hanging, answerAll } = holdCalls(sender);
    for (let i = 0; i < 8; i++) enqueue(`a${i}`, A);
    const reads = (url: string) => events.dueDeliveries.mock.calls.filter(([t]) => t === webhookTarget(url)).length;
    const drained = dispatcher.dispatchDue();
    try {
      await waitFor(() => hanging.length === WEBHOOK_IN_FLIGHT_PER_TARGET);
      // A's attempts end one at a time: each ending fills its slot from A's partition; B's, empty, is not read again.
      for (let i = 0; i < 4; i++) {
        hanging.shift()!();
        await waitFor(() => hanging.length === WEBHOOK_IN_FLIGHT_PER_TARGET);
      }
      expect(reads(A)).toBe(5);
      expect(reads(B)).toBe(1);
    } finally {
      answerAll();
    }
    expect(await drained).toBe(8);
  });

  it('reads the webhooks in turn: with fewer free slots than webhooks with room, each fill begins after the last one read', async () => {
    const urls = Array.from({ length: 10 }, (_, i) => `https://w${i}.example/hook`);
    const { dispatcher, enqueue, sender, events } = setUp(urls, undefined, 60_000);
    const { hanging, answerAll } = holdCalls(sender);
    for (const url of urls) for (let i = 0; i < 8; i++) enqueue(`${url}#${i}`, url);
    const drained = dispatcher.dispatchDue();
    try {
      // 25 slots: the 10 webhooks' first pages fill them (4 each to the first 6, 1 to the 7th).
      await waitFor(() => hanging.length === 25);
      events.dueDeliveries.mockClear();
      // One slot frees at a time: each look reads one webhook's partition (of those with room), the next one each time.
      for (let round = 0; round < 3; round++) {
        hanging.shift()!();
        await waitFor(() => hanging.length === 25);
      }
      const order = events.dueDeliveries.mock.calls.map(([t]) => urls.findIndex((url) => webhookTarget(url) === t));
      expect(order).toHaveLength(3);
      expect(new Set(order).size).toBe(3);
    } finally {
      answerAll();
    }
    expect(await drained).toBe(80);
  });

  it('reads the old partition too until migration 0013 is applied, asking whether it is once a minute at most', async () => {
    const { dispatcher, enqueue, sender, events, migration } = setUp([A, B]);
    migration.retired = false;
    enqueue('old', A, {}, true); // written by the version before, during a rolling deploy
    enqueue('new', B);
    expect(await dispatcher.dispatchDue()).toBe(2);
    expect(sender.send.mock.calls.map(([url, id]) => [url, id]).sort()).toEqual([
      [A, 'old'],
      [B, 'new'],
    ]);
    expect(await dispatcher.dispatchDue()).toBe(0);
    expect(events.legacyDueRetired).toHaveBeenCalledTimes(1);
    expect(events.legacyDueDeliveries.mock.calls.length).toBeGreaterThanOrEqual(2);
  });

  it('once migration 0013 is applied, the old partition is only looked at (Limit 1) once a minute at most while nothing is due there, and 0013 not asked about again', async () => {
    const { dispatcher, enqueue, events } = setUp([A]);
    enqueue('e1', A);
    expect(await dispatcher.dispatchDue()).toBe(1);
    expect(await dispatcher.dispatchDue()).toBe(0);
    expect(events.legacyDueRetired).toHaveBeenCalledTimes(1);
    expect(events.legacyDueAny).toHaveBeenCalledTimes(1);
    expect(events.legacyDueDeliveries).not.toHaveBeenCalled();
  });

  it('after migration 0013, a delivery a version before writes to the old partition (a rollback) is still sent, and its claim moves it (review 21b M-a)', async () => {
    const { dispatcher, enqueue, sender, events, legacy } = setUp([A]);
    enqueue('from-old-build', A, {}, true);
    expect(await dispatcher.dispatchDue()).toBe(1);
    expect(sender.send.mock.calls.map(([url, id]) => [url, id])).toEqual([[A, 'from-old-build']]);
    expect(legacy.size).toBe(0);
    expect(events.legacyDueRetired).toHaveBeenCalledTimes(1);
    expect(events.legacyDueAny).toHaveBeenCalledTimes(1);
  });

  it("after migration 0013, the look at the old partition goes on for the process's life: a delivery written there later is sent at the next look, a minute on at most", async () => {
    const { dispatcher, enqueue, sender, events } = setUp([A]);
    let monotonic = 1_000_000;
    const now = jest.spyOn(performance, 'now').mockImplementation(() => monotonic);
    try {
      expect(await dispatcher.dispatchDue()).toBe(0);
      enqueue('from-old-build', A, {}, true); // an old instance, started after 0013, stores a delivery
      monotonic += 59_000;
      expect(await dispatcher.dispatchDue()).toBe(0); // within the minute: not looked at again
      expect(events.legacyDueAny).toHaveBeenCalledTimes(1);
      monotonic += 1_000;
      expect(await dispatcher.dispatchDue()).toBe(1);
      expect(sender.send.mock.calls.map(([, id]) => id)).toEqual(['from-old-build']);
      for (let i = 0; i < 3; i++) {
        monotonic += 60_000;
        expect(await dispatcher.dispatchDue()).toBe(0);
      }
      expect(events.legacyDueAny).toHaveBeenCalledTimes(5);
      expect(events.legacyDueRetired).toHaveBeenCalledTimes(1);
    } finally {
      now.mockRestore();
    }
  });

  it('with no webhook configured and none removed, start() asks which there were and runs no loop', async () => {
    const { dispatcher, events } = setUp([]);
    dispatcher.start();
    await dispatcher.stop();
    expect(events.knownTargets).toHaveBeenCalledTimes(1);
    expect(events.dueDeliveries).not.toHaveBeenCalled();
    expect(events.legacyDueRetired).not.toHaveBeenCalled();
  });
});

describe('WebhookDispatcher: webhooks removed from WEBHOOK_URLS (review 22 W)', () => {
  const REMOVED = 'https://removed.example/hook';

  it('drops, without a call, every pending delivery in the partition of a webhook a dispatcher was started with before, due or backing off', async () => {
    const { dispatcher, enqueue, sender, events, outcomes, deliveries, registry, clock } = setUp([A], undefined, 1000, [
      A,
      REMOVED,
    ]);
    enqueue('e1', REMOVED, {}, false, true);
    enqueue('e2', REMOVED, {
      attempts: 3,
      nextAttemptAt: new Date(clock.now().getTime() + 60_000).toISOString(),
    });
    for (let i = 0; i < 6; i++) enqueue(`b${i}`, REMOVED, {}, false, true); // more than a page of 4
    enqueue('e3', A);
    expect(await dispatcher.dispatchDue()).toBe(9);
    expect(sender.send.mock.calls.map(([url, id]) => [url, id])).toEqual([[A, 'e3']]);
    expect(deliveries.filter((d) => d.target === webhookTarget(REMOVED)).map((d) => d.state)).toEqual(
      Array<string>(8).fill('dropped'),
    );
    expect(new Set(events.dropped.mock.calls.map(([, reason]) => reason))).toEqual(
      new Set(['webhook no longer configured']),
    );
    expect(outcomes.filter((o) => o === 'dropped')).toHaveLength(8);
    // Their events' bodies are not read.
    expect(events.payloads.mock.calls.flatMap(([ids]) => ids)).toEqual(['e3']);
    // The table knows both still: a later start drops what a dispatcher with the old list wrote meanwhile.
    expect(registry).toEqual(new Set([webhookTarget(A), webhookTarget(REMOVED)]));
    expect(events.knownTargets).toHaveBeenCalledTimes(1);
  });

  it('forgets a removed webhook once its partition is empty, an hour after the start, unless a dispatcher started since (session 23)', async () => {
    const { dispatcher, enqueue, events, registry, clock, starts } = setUp([A], undefined, 1000, [A, REMOVED]);
    enqueue('e1', REMOVED, {}, false, true);
    expect(await dispatcher.dispatchDue()).toBe(1); // dropped
    await dispatcher.dispatchDue(); // found empty, but within the hour: kept
    expect(events.forgetTarget).not.toHaveBeenCalled();
    expect(registry.has(webhookTarget(REMOVED))).toBe(true);
    clock.advance(WEBHOOK_FORGET_AFTER_MS);
    await dispatcher.dispatchDue();
    expect(events.forgetTarget.mock.calls).toEqual([[webhookTarget(REMOVED), starts.generation]]);
    expect(registry).toEqual(new Set([webhookTarget(A)]));
    // Its partition is read no more.
    const reads = events.dueDeliveries.mock.calls.length;
    await dispatcher.dispatchDue();
    expect(events.dueDeliveries.mock.calls.slice(reads).map(([target]) => target)).toEqual([webhookTarget(A)]);

    // Another dispatcher started since this one asked (it may have the webhook configured again): kept.
    const other = setUp([A], undefined, 1000, [A, REMOVED]);
    await other.dispatcher.dispatchDue();
    other.starts.generation++;
    other.clock.advance(WEBHOOK_FORGET_AFTER_MS);
    await other.dispatcher.dispatchDue();
    await other.dispatcher.dispatchDue();
    expect(other.events.forgetTarget).toHaveBeenCalledTimes(1);
    expect(other.registry.has(webhookTarget(REMOVED))).toBe(true);
  });

  it("one poll of the loop drops a removed webhook's whole backlog: its partition is read again while a read finds some", async () => {
    const { dispatcher, enqueue, deliveries } = setUp([A], undefined, 60_000, [A, REMOVED]);
    for (let i = 0; i < 10; i++) enqueue(`e${i}`, REMOVED, {}, false, true);
    expect(await dispatcher.poll()).toBe(10);
    expect(deliveries.every((d) => d.state === 'dropped')).toBe(true);
  });

  it('runs the loop with no webhook configured while a removed one has deliveries, and drops them all', async () => {
    const { dispatcher, enqueue, deliveries, sender } = setUp([], undefined, 50, [REMOVED]);
    // More than a page of 4 (one page a read), and one backing off.
    for (let i = 0; i < 9; i++) enqueue(`e${i}`, REMOVED, { attempts: i % 2 }, false, true);
    enqueue('later', REMOVED, { nextAttemptAt: '2026-05-15T13:00:00.000Z' }, false, true);
    dispatcher.start();
    try {
      await waitFor(() => deliveries.every((d) => d.state === 'dropped'));
    } finally {
      await dispatcher.stop();
    }
    expect(sender.send).not.toHaveBeenCalled();
  });
});

describe("WebhookDispatcher.poll: the loop's round reads what is due by what it knows, plus one partition in turn (review 22 W)", () => {
  const urls = Array.from({ length: 10 }, (_, i) => `https://w${i}.example/hook`);
  const readsBy = (events: ReturnType<typeof setUp>['events'], from: number) =>
    events.dueDeliveries.mock.calls
      .slice(from)
      .map(([target]) => urls.findIndex((url) => webhookTarget(url) === target));

  it('an idle poll of 10 webhooks reads one partition, each in turn, after a first look at all', async () => {
    const { dispatcher, events } = setUp(urls);
    const monotonic = monotonicClock();
    try {
      expect(await dispatcher.poll()).toBe(0);
      expect(events.dueDeliveries).toHaveBeenCalledTimes(10);
      for (let i = 0; i < 20; i++) {
        monotonic.at.ms += 1000;
        expect(await dispatcher.poll()).toBe(0);
      }
      const reads = readsBy(events, 10);
      expect(reads).toHaveLength(20);
      expect(reads.slice(0, 10).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      // Within one WEBHOOK_POLL_MS, nothing is read.
      expect(await dispatcher.poll()).toBe(0);
      expect(events.dueDeliveries).toHaveBeenCalledTimes(30);
    } finally {
      monotonic.restore();
    }
  });

  it("a delivery this process stores is read at the next poll; another process's, within one poll per partition", async () => {
    const { dispatcher, enqueue, sender, events } = setUp(urls);
    const monotonic = monotonicClock();
    try {
      await dispatcher.poll();
      monotonic.at.ms += 1000;
      enqueue('here', urls[7]);
      const before = events.dueDeliveries.mock.calls.length;
      expect(await dispatcher.poll()).toBe(1);
      expect(readsBy(events, before)).toContain(7);
      expect(events.dueDeliveries.mock.calls.length - before).toBeLessThanOrEqual(3);
      enqueue('elsewhere', urls[3], {}, false, true);
      let polls = 0;
      while (sender.send.mock.calls.length < 2 && polls < 10) {
        monotonic.at.ms += 1000;
        await dispatcher.poll();
        polls++;
      }
      expect(sender.send.mock.calls.map(([url, id]) => [url, id])).toEqual([
        [urls[7], 'here'],
        [urls[3], 'elsewhere'],
      ]);
    } finally {
      monotonic.restore();
    }
  });

  it('a delivery backing off (or stored due later) is read again when it comes due, not on each poll before', async () => {
    const { dispatcher, enqueue, sender, answers, clock, events, deliveries } = setUp(urls);
    const monotonic = monotonicClock();
    try {
      answers.set(urls[0], { ok: false, status: 500, error: 'HTTP 500' });
      enqueue('e1', urls[0], { attempts: 3 }); // its 4th attempt fails: the 5th 5 s later
      expect(await dispatcher.poll()).toBe(1);
      const retryAt = Date.parse(deliveries[0].nextAttemptAt);
      expect(retryAt - clock.now().getTime()).toBe(5000);
      const from = events.dueDeliveries.mock.calls.length;
      // 4 polls before its time, one partition each in turn; its own read only while its writes are fresh.
      for (let i = 0; i < 4; i++) {
        monotonic.at.ms += 1000;
        clock.advance(1000);
        await dispatcher.poll();
      }
      expect(sender.send).toHaveBeenCalledTimes(1);
      expect(readsBy(events, from).filter((i) => i === 0).length).toBeLessThanOrEqual(2);
      clock.set(new Date(retryAt));
      monotonic.at.ms += 1000;
      expect(await dispatcher.poll()).toBe(1);
      expect(sender.send).toHaveBeenCalledTimes(2);
      // Stored due in a minute (a deferred delivery): sent at its time, not before.
      enqueue('later', urls[5], {
        nextAttemptAt: new Date(clock.now().getTime() + 60_000).toISOString(),
      });
      answers.delete(urls[0]);
      monotonic.at.ms += 1000;
      await dispatcher.poll();
      expect(sender.send.mock.calls.map(([, id]) => id)).not.toContain('later');
      clock.advance(60_000);
      monotonic.at.ms += 1000;
      await dispatcher.poll();
      expect(sender.send.mock.calls.map(([, id]) => id)).toContain('later');
    } finally {
      monotonic.restore();
    }
  });
});
