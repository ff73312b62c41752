import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { AppConfig } from '../src/config/app-config.js';
import { APP_CONFIG } from '../src/config/config.constants.js';
import { Keys } from '../src/dynamo/keys.js';
import { DynamoUsage, runWithUsage } from '../src/dynamo/request-accounting.js';
import { EventsRepository } from '../src/events/events.repository.js';
import { WEBHOOK_FORGET_AFTER_MS, WebhookDispatcher, webhookTarget } from '../src/events/webhook-dispatcher.js';
import { WebhookSender } from '../src/events/webhook-sender.js';
import { AppMetrics } from '../src/metrics/app-metrics.js';
import { processStream } from './helpers/stream.js';
import { createTestApp, signUp, type TestApp } from './helpers/test-app.js';

const POLL_MS = 50;

/**
 * Review 22 W: the loop's idle poll reads one due partition, not one per webhook (since the
 * per-webhook partitions of migration 0013 it read every webhook's each WEBHOOK_POLL_MS); and the
 * pending deliveries of a webhook removed from WEBHOOK_URLS are dropped again (since 0013 its
 * partition was read no more, and they stayed pending until they expired).
 */
describe('webhooks: the idle poll, and webhooks removed from WEBHOOK_URLS (e2e, review 22 W)', () => {
  let t: TestApp;
  // Nothing listens there: no delivery is due while the polls are measured, and none is sent after.
  const urls = Array.from({ length: 10 }, (_, i) => `http://127.0.0.1:9/hook-${i}`);

  beforeAll(async () => {
    t = await createTestApp({
      WEBHOOK_URLS: urls.join(','),
      WEBHOOK_SECRET: 'idle-secret-0123456789abcdefghijklmnopqrstuvwxyz',
      WEBHOOK_POLL_MS: String(POLL_MS),
    });
  }, 120_000);
  afterAll(async () => {
    await t.close();
  });

  /** A dispatcher of another instance on the same table, started with these webhooks. */
  const dispatcherWith = (configured: string[]) => {
    const config = t.app.get<AppConfig>(APP_CONFIG);
    return new WebhookDispatcher(
      t.app.get(EventsRepository),
      t.app.get(WebhookSender),
      t.app.get(AppMetrics),
      {
        ...config,
        webhooks: {
          ...config.webhooks,
          endpoints: config.webhooks.endpoints.filter((e) => configured.includes(e.url)),
        },
      },
      t.clock,
    );
  };
  const cost = async (round: () => Promise<number>) => {
    const usage = new DynamoUsage();
    await runWithUsage(usage, round);
    return { calls: usage.calls, rcu: usage.readCapacity, commands: usage.commands };
  };
  /** Idle polls WEBHOOK_POLL_MS apart, after a first one (which reads every partition once). */
  const idlePolls = async (dispatcher: WebhookDispatcher, n: number) => {
    await dispatcher.poll();
    const polls = [];
    for (let i = 0; i < n; i++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS + 10));
      polls.push(await cost(() => dispatcher.poll()));
    }
    return polls;
  };
  // DynamoDB Local bills a Query that finds nothing 0 RCU; DynamoDB bills each 0.5 at least.
  const onePartition = { calls: 1, rcu: 0, commands: ['Query'] };

  it('an idle poll reads one partition (one Query) with 1 webhook and with 10; a look at every webhook reads each', async () => {
    const one = dispatcherWith(urls.slice(0, 1));
    expect(await idlePolls(one, 3)).toEqual([onePartition, onePartition, onePartition]);
    expect(await cost(() => one.dispatchDue())).toEqual(onePartition);
    const ten = t.app.get(WebhookDispatcher);
    const polls = await idlePolls(ten, 10);
    // The figures of docs/performance.md ("Session 22: the webhook dispatcher's idle poll").
    expect(polls).toEqual(Array.from({ length: 10 }, () => onePartition));
    // What each poll cost before (every webhook's partition): the round of the Lambda schedule and the tests.
    expect(await cost(() => ten.dispatchDue())).toEqual({
      calls: 10,
      rcu: 0,
      commands: Array.from({ length: 10 }, () => 'Query'),
    });
  });

  it('drops every pending delivery of a webhook removed from WEBHOOK_URLS: the table knows which webhooks a dispatcher was started with', async () => {
    await t.app.get(WebhookDispatcher).poll(); // started with the ten (nothing is pending yet)
    await signUp(t);
    await processStream(t);
    const deliveries = async () =>
      (await t.allItems()).filter((item) => item.entity === 'WebhookDelivery' && item.state === 'pending');
    const pending = await deliveries();
    expect(pending.length).toBeGreaterThanOrEqual(10);
    const known = await t.getItem(Keys.webhookTargets.PK, Keys.webhookTargets.SK);
    expect(known?.targets).toEqual(new Set(urls.map(webhookTarget)));

    // Restarted with the first two webhooks only: the eight others' deliveries are dropped, not sent.
    const restarted = dispatcherWith(urls.slice(0, 2));
    const sender = t.app.get(WebhookSender);
    const sent: string[] = [];
    const send = sender.send.bind(sender);
    sender.send = (url, ...rest) => {
      sent.push(url);
      return send(url, ...rest);
    };
    try {
      await restarted.dispatchDue();
    } finally {
      sender.send = send;
    }
    const removed = new Set(urls.slice(2).map(webhookTarget));
    const after = (await t.allItems()).filter(
      (item) => item.entity === 'WebhookDelivery' && removed.has(item.target as string),
    );
    expect(after.length).toBe(pending.filter((item) => removed.has(item.target as string)).length);
    for (const item of after) {
      expect(item).toMatchObject({ state: 'dropped', lastError: 'webhook no longer configured' });
      expect(item.GSI1PK).toBeUndefined();
    }
    expect(sent.every((url) => urls.slice(0, 2).includes(url))).toBe(true);

    // Session 23: an hour on, with no dispatcher started since, the removed webhooks' emptied
    // partitions are forgotten (one UpdateItem each), and read no more; not while another has started.
    const targets = async () => (await t.getItem(Keys.webhookTargets.PK, Keys.webhookTargets.SK))?.targets;
    await restarted.dispatchDue();
    expect(await targets()).toEqual(new Set(urls.map(webhookTarget)));
    const forget = jest.spyOn(t.app.get(EventsRepository), 'forgetTarget');
    t.clock.advance(WEBHOOK_FORGET_AFTER_MS);
    const another = dispatcherWith(urls.slice(0, 2));
    await another.dispatchDue(); // started now: it waits its hour
    await restarted.dispatchDue(); // another started since it asked: its DELETEs are refused
    expect(await targets()).toEqual(new Set(urls.map(webhookTarget)));
    t.clock.advance(WEBHOOK_FORGET_AFTER_MS);
    await another.dispatchDue();
    // Restarted's tries all refused (the partitions it found empty in that look: eight, or fewer when
    // a read lagged, as in CI at 13:18 UTC on 2026-11-28, where it tried six), then another's eight,
    // one UpdateItem each.
    const forgotten = await Promise.all(forget.mock.results.map((result) => result.value as Promise<boolean>));
    const refused = forgotten.filter((done) => !done).length;
    expect(refused).toBeGreaterThanOrEqual(1);
    expect(refused).toBeLessThanOrEqual(8);
    expect(forgotten).toEqual([...Array<boolean>(refused).fill(false), ...Array<boolean>(8).fill(true)]);
    forget.mockRestore();
    expect(await targets()).toEqual(new Set(urls.slice(0, 2).map(webhookTarget)));
    // The two configured webhooks' partitions are read (and at most the once-a-minute look at the old one), not ten.
    const reads = jest.spyOn(t.app.get(EventsRepository), 'dueDeliveries');
    await another.dispatchDue();
    expect(new Set(reads.mock.calls.map(([target]) => target))).toEqual(new Set(urls.slice(0, 2).map(webhookTarget)));
    reads.mockRestore();
  });
});
