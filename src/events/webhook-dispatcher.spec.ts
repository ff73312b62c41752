import { jest } from '@jest/globals';
import { SettableClock } from '../common/clock/clock.js';
import { type AppConfig, type OutboundEventType, WEBHOOK_MAX_ATTEMPTS } from '../config/app-config.js';
import type { AppMetrics } from '../metrics/app-metrics.js';
import type { EventsRepository, WebhookDelivery } from './events.repository.js';
import { WEBHOOK_IN_FLIGHT_PER_TARGET, WebhookDispatcher, webhookTarget } from './webhook-dispatcher.js';
import type { AttemptResult, WebhookSender } from './webhook-sender.js';

const NOW = '2026-05-15T12:00:00.000Z';
const A = 'https://a.example/hook';
const B = 'https://b.example/hook?key=receiver-secret';

/**
 * The collaborators faked at their tokens: deliveries in memory with the repository's conditional
 * claim (a delivery is claimed once per attempt), a sender whose answers a spec scripts per URL,
 * and counters of outcomes.
 */
function setUp(urls: string[] = [A, B], events?: Record<string, OutboundEventType[]>, pollMs = 1000) {
  const clock = new SettableClock().set(NOW);
  const deliveries: WebhookDelivery[] = [];
  /** Deliveries still in the old partition `WEBHOOKS#DUE` (by event and target), and whether 0013 retired it. */
  const legacy = new Set<string>();
  const migration = { retired: true };
  const keyOf = (d: WebhookDelivery) => `${d.eventId}.${d.target}`;
  const payloads = new Map<string, string>();
  const due = (now: Date) =>
    deliveries.filter((d) => d.state === 'pending' && d.nextAttemptAt <= now.toISOString()).map((d) => ({ ...d }));
  const enqueue = (eventId: string, url: string, overrides: Partial<WebhookDelivery> = {}, old = false) => {
    if (old) legacy.add(`${eventId}.${webhookTarget(url)}`);
    payloads.set(eventId, `{"id":"${eventId}"}`);
    deliveries.push({
      eventId,
      eventType: 'post.published',
      target: webhookTarget(url),
      state: 'pending',
      attempts: 0,
      nextAttemptAt: clock.now().toISOString(),
      ...overrides,
    });
  };
  const find = (d: WebhookDelivery) => deliveries.find((x) => x.eventId === d.eventId && x.target === d.target)!;
  const repository = {
    dueDeliveries: jest.fn((target: string, now: Date, limit: number, _after?: Record<string, unknown>) =>
      Promise.resolve({
        items: due(now)
          .filter((d) => d.target === target && !legacy.has(keyOf(d)))
          .slice(0, limit),
      }),
    ),
    legacyDueDeliveries: jest.fn((now: Date, limit: number, skipTargets: readonly string[] = []) =>
      Promise.resolve(
        due(now)
          .filter((d) => legacy.has(keyOf(d)) && !skipTargets.includes(d.target))
          .slice(0, limit),
      ),
    ),
    legacyDueRetired: jest.fn(() => Promise.resolve(migration.retired)),
    legacyDueAny: jest.fn((now: Date) => Promise.resolve(due(now).some((d) => legacy.has(keyOf(d))))),
    payloads: jest.fn((ids: readonly string[]) =>
      Promise.resolve(new Map(ids.filter((id) => payloads.has(id)).map((id) => [id, payloads.get(id)!]))),
    ),
    claim: jest.fn((d: WebhookDelivery, nextAttemptAt: Date) => {
      const stored = find(d);
      // Conditional on the attempts it read: a round that read it before another claimed it loses.
      if (stored.state !== 'pending' || stored.attempts !== d.attempts) return Promise.resolve(false);
      legacy.delete(keyOf(d)); // the claim writes the new layout's due keys
      Object.assign(stored, { attempts: d.attempts + 1, nextAttemptAt: nextAttemptAt.toISOString() });
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
    enqueue,
    events: repository,
    sender,
    answers,
    outcomes,
    migration,
    legacy,
  };
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
    const { dispatcher, enqueue, payloads, sender, events, outcomes, migration } = setUp([A]);
    // A removed webhook's own partition is read no more; what the old partition holds for it is dropped.
    migration.retired = false;
    enqueue('e1', 'https://removed.example/hook', {}, true);
    enqueue('e2', A);
    payloads.delete('e2');
    expect(await dispatcher.dispatchDue()).toBe(2);
    expect(sender.send).not.toHaveBeenCalled();
    expect(events.dropped.mock.calls.map(([d, reason]) => [d.eventId, reason]).sort()).toEqual([
      ['e1', 'webhook no longer configured'],
      ['e2', 'event gone (erased or expired)'],
    ]);
    expect(outcomes).toEqual(['dropped', 'dropped']);
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

  it('with no webhook configured, start() runs no loop', async () => {
    const { dispatcher, events } = setUp([]);
    dispatcher.start();
    await dispatcher.stop();
    expect(events.dueDeliveries).not.toHaveBeenCalled();
  });
});
