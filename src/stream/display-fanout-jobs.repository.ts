import { Inject, Injectable } from '@nestjs/common';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { isConditionalCheckFailed } from '../dynamo/dynamo-errors.js';
import { DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { buildUpdate, epochSeconds } from '../dynamo/expressions.js';
import type { Item } from '../dynamo/stream-record.js';
import { ENTITY, Keys } from '../dynamo/keys.js';
import { OUTLIVES_REPLAY_TTL_SECONDS } from '../dynamo/replay-window.js';
import type { AuthorDisplay } from '../identity/author-display.js';

/** Where a copy stands: which listing, and the cursor after the last item done (none: its start). */
export interface FanoutProgress {
  phase: 'posts' | 'comments';
  cursor?: string;
}

/** A rename's copy still in progress: the name copied, where it got, and how many runs moved it. */
export interface DisplayFanoutJob {
  userId: string;
  display: AuthorDisplay;
  progress: FanoutProgress;
  step: number;
}

/** A job outlives the replay of a dead-lettered step (OUTLIVES_REPLAY_TTL_SECONDS): after that it cannot go on. */
const JOB_TTL_SECONDS = OUTLIVES_REPLAY_TTL_SECONDS;

/** The job of a job item's stream image, or undefined when the image is not one. */
export function fanoutJobOf(userId: string, image: Item | undefined): DisplayFanoutJob | undefined {
  if (!image || typeof image.authorUsername !== 'string' || typeof image.authorVersion !== 'number') return undefined;
  if (image.phase !== 'posts' && image.phase !== 'comments') return undefined;
  return {
    userId,
    display: {
      authorUsername: image.authorUsername,
      ...(typeof image.authorName === 'string' ? { authorName: image.authorName } : {}),
      authorVersion: image.authorVersion,
    },
    progress: {
      phase: image.phase as FanoutProgress['phase'],
      ...(typeof image.cursor === 'string' ? { cursor: image.cursor } : {}),
    },
    step: typeof image.step === 'number' ? image.step : 0,
  };
}

/**
 * The job items of the author display fan-out (`PK=USER#<id>`, `SK=FANOUT#AUTHOR_DISPLAY`, one per
 * user): each write is the continuation of the copy, since the processor handles the item's own
 * `INSERT`/`MODIFY` record next. Every write is conditioned, so a record delivered twice, or one
 * of a rename that a newer one replaced, moves nothing.
 */
@Injectable()
export class DisplayFanoutJobsRepository {
  constructor(
    @Inject(DYNAMODB_DOCUMENT_CLIENT) private readonly db: DynamoDBDocumentClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Starts (or takes over) the user's job at `progress`, unless a newer rename's job is there. */
  async start(userId: string, display: AuthorDisplay, progress: FanoutProgress): Promise<void> {
    await this.ignoringLostRace(
      this.db.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            ...Keys.displayFanoutJob(userId),
            entity: ENTITY.DisplayFanoutJob,
            ...this.state(display, progress, 1),
          },
          ConditionExpression: 'attribute_not_exists(PK) OR authorVersion < :version',
          ExpressionAttributeValues: { ':version': display.authorVersion },
        }),
      ),
    );
  }

  /** Moves the job to `progress` (its next run), if it is still at the step this run started from. */
  async advance(job: DisplayFanoutJob, progress: FanoutProgress): Promise<void> {
    const { phase, step, updatedAt, ttl } = this.state(job.display, progress, job.step + 1);
    await this.ignoringLostRace(
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: Keys.displayFanoutJob(job.userId),
          ...buildUpdate({
            set: { phase, step, updatedAt, ttl, cursor: progress.cursor },
            remove: progress.cursor === undefined ? ['cursor'] : [],
            condition: this.atStep(job),
          }),
        }),
      ),
    );
  }

  /** Removes the finished (or superseded) job, if no newer run or rename moved it meanwhile. */
  async finish(job: DisplayFanoutJob): Promise<void> {
    await this.ignoringLostRace(
      this.db.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: Keys.displayFanoutJob(job.userId),
          ...this.conditionOf(this.atStep(job)),
        }),
      ),
    );
  }

  /** The job as a run read it: the same rename, at the same step. */
  private atStep(job: DisplayFanoutJob) {
    return {
      expression: 'authorVersion = :version AND #step = :step',
      names: { '#step': 'step' },
      values: { ':version': job.display.authorVersion, ':step': job.step },
    };
  }

  private conditionOf(condition: ReturnType<DisplayFanoutJobsRepository['atStep']>) {
    return {
      ConditionExpression: condition.expression,
      ExpressionAttributeNames: condition.names,
      ExpressionAttributeValues: condition.values,
    };
  }

  private state(display: AuthorDisplay, progress: FanoutProgress, step: number) {
    const now = this.clock.now();
    return {
      authorUsername: display.authorUsername,
      ...(display.authorName !== undefined ? { authorName: display.authorName } : {}),
      authorVersion: display.authorVersion,
      phase: progress.phase,
      ...(progress.cursor !== undefined ? { cursor: progress.cursor } : {}),
      step,
      updatedAt: now.toISOString(),
      ttl: epochSeconds(now) + JOB_TTL_SECONDS,
    };
  }

  /** A failed condition is a duplicate delivery or a newer rename's job: that one goes on, this one stops. */
  private async ignoringLostRace(send: Promise<unknown>): Promise<void> {
    try {
      await send;
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
    }
  }
}
