import { describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { loadConfig } from '../../config/app-config.js';
import { APP_CONFIG } from '../../config/config.constants.js';
import type { ItemChange } from '../../dynamo/stream-record.js';
import { FeedFanout } from '../../feed/feed-fanout.js';
import { FollowsRepository } from '../../follows/follows.repository.js';
import { AppMetrics } from '../../metrics/app-metrics.js';
import { FanInPromotionJobsRepository } from '../fan-in-promotion-jobs.repository.js';
import { FanInPromotionStepHandler, FollowEdgeHandler } from './follow-graph.handlers.js';

type Outcome = Awaited<ReturnType<FollowsRepository['addFanInAuthor']>>;

/**
 * The two handlers that add an author to fan-in sets, over fakes of their repositories (at their
 * classes' tokens) and a real `AppMetrics`: `addFanInAuthor` answers `outcomes[follower]`.
 */
async function handlersOver(outcomes: Record<string, Outcome>) {
  // The edges marked `fanInSetFull`, as the repository's conditional write does: once per edge.
  const marked = new Set<string>();
  const follows = {
    markFanInSetFull: (followerId: string, authorId: string) =>
      Promise.resolve(!marked.has(`${followerId}#${authorId}`) && Boolean(marked.add(`${followerId}#${authorId}`))),
    followerIdsPage: () => Promise.resolve({ ids: Object.keys(outcomes) }),
    addFanInAuthor: (followerId: string) => Promise.resolve(outcomes[followerId]),
    edgeState: () =>
      Promise.resolve({ followerExists: true, authorExists: true, authorFanIn: true, fannedInAlready: false }),
    removedEdgeState: () => Promise.resolve({ following: false, followerExists: true }),
  };
  const left: string[] = [];
  const unfollows: unknown[][] = [];
  const module = await Test.createTestingModule({
    providers: [
      FanInPromotionStepHandler,
      FollowEdgeHandler,
      { provide: FollowsRepository, useValue: follows },
      {
        provide: FeedFanout,
        useValue: {
          authorLeft: (reader: string) => Promise.resolve(void left.push(reader)),
          unfollowed: (...args: unknown[]) => Promise.resolve(void unfollows.push(args)),
        },
      },
      { provide: FanInPromotionJobsRepository, useValue: { finish: () => Promise.resolve() } },
      { provide: APP_CONFIG, useValue: loadConfig({ NODE_ENV: 'test' }) },
      { provide: AppMetrics, useValue: new AppMetrics() },
    ],
  }).compile();
  module.useLogger(false);
  const metrics = module.get(AppMetrics);
  const full = async () =>
    Object.fromEntries((await metrics.fanInSetFull().get()).values.map((v) => [String(v.labels.path), v.value]));
  return {
    step: module.get(FanInPromotionStepHandler),
    edge: module.get(FollowEdgeHandler),
    left,
    unfollows,
    full,
    metrics,
  };
}

const change = (event: ItemChange['event'], newImage: ItemChange['newImage'], oldImage?: ItemChange['oldImage']) =>
  ({ event, newImage, oldImage, key: { PK: 'x', SK: 'y' }, sequenceNumber: '1', at: new Date() }) as ItemChange;

describe('feed_fan_in_set_full_total', () => {
  it('counts each reader of a promotion step whose fan-in set is full, under path="promotion"', async () => {
    const { step, left, full } = await handlersOver({ r1: 'full', r2: 'added', r3: 'full', r4: 'edgeGone' });
    await step.handle(change('MODIFY', { step: 1 }, { step: 0 }), 'author');
    expect(await full()).toEqual({ promotion: 2 });
    // The full readers still lose the author's timeline entries; the one whose edge is gone does not.
    expect(left.sort()).toEqual(['r1', 'r2', 'r3']);
  });

  it('counts a new follow of a fan-in author whose reader has a full set, under path="follow", in /metrics', async () => {
    const { edge, full, metrics } = await handlersOver({ reader: 'full' });
    await edge.handle(change('INSERT', { followerId: 'reader', authorId: 'author' }));
    expect(await full()).toEqual({ follow: 1 });
    expect(await metrics.render()).toContain('feed_fan_in_set_full_total{path="follow"} 1');
  });

  it('counts a refusal once per edge: a follow record delivered again, or replayed, and a promotion step run again count nothing more', async () => {
    const { edge, step, full } = await handlersOver({ r1: 'full', r2: 'full' });
    const followed = change('INSERT', { followerId: 'r1', authorId: 'author' });
    await edge.handle(followed);
    await edge.handle(followed);
    expect(await full()).toEqual({ follow: 1 });
    const stepped = change('MODIFY', { step: 1 }, { step: 0 });
    await step.handle(stepped, 'other');
    await step.handle(stepped, 'other');
    expect(await full()).toEqual({ follow: 1, promotion: 2 });
  });

  it('counts nothing when the author was added', async () => {
    const { edge, full } = await handlersOver({ reader: 'added' });
    await edge.handle(change('INSERT', { followerId: 'reader', authorId: 'author' }));
    expect(await full()).toEqual({});
  });
});

describe('FollowEdgeHandler: an unfollow', () => {
  it("hands the removed edge's followedAt to the fan-out, which picks the Query by the edge's age (review 21b, L-d)", async () => {
    const { edge, unfollows } = await handlersOver({});
    const followedAt = '2026-11-01T10:00:00.000Z';
    await edge.handle(change('REMOVE', undefined, { followerId: 'r1', authorId: 'a1', followedAt }));
    expect(unfollows).toEqual([['r1', 'a1', followedAt]]);
  });
});
