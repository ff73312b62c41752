import { Inject, Injectable } from '@nestjs/common';
import { type DynamoDBDocumentClient, type NativeAttributeValue, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { buildUpdate, epochSeconds } from '../dynamo/expressions.js';
import type { Item } from '../dynamo/stream-record.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { putNewWhileOwnerExists } from '../dynamo/transactions.js';
import { OUTLIVES_REPLAY_TTL_SECONDS } from '../dynamo/replay-window.js';

/** A fan-in promotion in progress: the author, the followers index key to go on after (none: the start), the step. */
export interface FanInPromotionJob {
  authorId: string;
  after?: Record<string, NativeAttributeValue>;
  step: number;
}

/**
 * A job outlives the replay of a dead-lettered step (OUTLIVES_REPLAY_TTL_SECONDS), and the done job stays
 * that long too, so that the promotion's own record, delivered or replayed again, finds it and does
 * not start the promotion over.
 */
const JOB_TTL_SECONDS = OUTLIVES_REPLAY_TTL_SECONDS;

/** The job of a job item's stream image: undefined when the image is not one, or the job is done. */
export function fanInJobOf(authorId: string, image: Item | undefined): FanInPromotionJob | undefined {
  if (!image || typeof image.step !== 'number' || image.done === true) return undefined;
  const after: unknown = image.after;
  return {
    authorId,
    step: image.step,
    ...(after && typeof after === 'object' ? { after: after as Record<string, NativeAttributeValue> } : {}),
  };
}

/**
 * The job items of the fan-in promotion (`PK=USER#<author>`, `SK=FANOUT#FAN_IN`, one per author,
 * review 12, M2): each write is the continuation, since the processor handles the item's own
 * record next. Every write is conditioned on the step the run started from, so a record delivered
 * twice moves nothing a second time.
 */
@Injectable()
export class FanInPromotionJobsRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Starts the author's promotion at the first follower, unless it was started already (running or
   * done), or the author is gone: the job's `Put` is in one transaction with a check of the author's
   * user item (review 13, L-a3). The job lives in the author's partition, which the erasure deletes;
   * a flag record handled after that (late, or replayed) put it back, and it lingered 31 days.
   */
  async start(authorId: string): Promise<void> {
    const job = { ...Keys.fanInPromotionJob(authorId), entity: ENTITY.FanInPromotionJob, step: 1, ...this.stamp() };
    await putNewWhileOwnerExists(this.db, this.tableName, job, Keys.user(authorId));
  }

  /** Moves the job past the step just run (its next record runs the next one), if it is still at that step. */
  async advance(job: FanInPromotionJob, after: Record<string, NativeAttributeValue>): Promise<void> {
    await this.update(job, { step: job.step + 1, after, ...this.stamp() }, []);
  }

  /** Marks the job done (kept until its `ttl`, see JOB_TTL_SECONDS), if it is still at the step just run. */
  async finish(job: FanInPromotionJob): Promise<void> {
    await this.update(job, { step: job.step + 1, done: true, ...this.stamp() }, ['after']);
  }

  private async update(job: FanInPromotionJob, set: Record<string, unknown>, remove: string[]): Promise<void> {
    await this.ignoringLostRace(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.fanInPromotionJob(job.authorId),
          ...buildUpdate({
            set,
            remove,
            condition: {
              expression: '#step = :step AND attribute_not_exists(#done)',
              names: { '#step': 'step', '#done': 'done' },
              values: { ':step': job.step },
            },
          }),
        }),
      ),
    );
  }

  private stamp() {
    const now = this.clock.now();
    return { updatedAt: now.toISOString(), ttl: epochSeconds(now) + JOB_TTL_SECONDS };
  }

  /** A failed condition is a duplicate delivery: the run that moved the job goes on, this one stops. */
  private async ignoringLostRace(send: Promise<unknown>): Promise<void> {
    try {
      await send;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
