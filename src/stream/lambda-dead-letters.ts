import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { recordTime, type StreamRecord } from '../dynamo/stream-record.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { failingCapMs, isTransientFailure } from './give-up.js';
import { StreamDeadLettersRepository } from './stream-dead-letters.repository.js';

/**
 * The shard of a dead letter the Lambda host wrote: a Lambda event does not name its record's
 * shard, so `db:stream-replay` finds it by the sequence number among the stream's shards.
 */
export const LAMBDA_SHARD = 'lambda';

/** Failing records whose count a container keeps (a container handles one batch at a time). */
const COUNTED_RECORDS = 100;

/**
 * The Lambda host's dead-letter list, as the poller's (review 22 W): a record that keeps failing is
 * written to `PK=STREAM#DEADLETTER` (the items `db:stream-replay` reads) and the rest of its batch
 * goes on, instead of Lambda discarding the record and every record after it in its batch once
 * `MaximumRetryAttempts` is spent. Given up on: a record whose failure would repeat (not transient)
 * after `STREAM_WORKER_MAX_ATTEMPTS` such failures in a row in this container (the count is the
 * container's: Lambda keeps none between invocations, and a new container starts again); and any
 * record, transient failures included, that is `STREAM_WORKER_TRANSIENT_MAX_SECONDS` old
 * (`STREAM_WORKER_DEFERRAL_MAX_SECONDS` for a recipient's deferral) by its
 * `ApproximateCreationDateTime` and has failed `STREAM_WORKER_MAX_ATTEMPTS` times in this container,
 * so a shard that lags by more than that does not dead-letter a record at a passing throttle.
 */
@Injectable()
export class LambdaDeadLetters {
  private readonly logger = new Logger('StreamLambda');
  /** Per failing record (by sequence number): its failures in this container, and those that count. */
  private readonly failures = new Map<string, { tries: number; attempts: number }>();

  constructor(
    private readonly deadLetters: StreamDeadLettersRepository,
    private readonly metrics: AppMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /**
   * Counts a failure of `record`; whether it was given up on (its dead letter written: the batch
   * goes on after it). False: Lambda retries from it. A dead letter that cannot be written (the
   * database away) is not given up on either: the record is retried.
   */
  async giveUp(record: StreamRecord, error: unknown): Promise<boolean> {
    const sequence = record.dynamodb?.SequenceNumber;
    if (sequence === undefined) return false;
    const counted = this.failures.get(sequence) ?? { tries: 0, attempts: 0 };
    this.failures.delete(sequence); // re-inserted last: the map drops the longest unseen first
    counted.tries++;
    counted.attempts = isTransientFailure(error) ? 0 : counted.attempts + 1;
    const at = recordTime(record);
    const age = at ? this.clock.now().getTime() - at.getTime() : 0;
    const { maxAttempts } = this.config.streamWorker;
    const old = counted.tries >= maxAttempts && age >= failingCapMs(error, this.config.streamWorker);
    if (counted.attempts < maxAttempts && !old) {
      this.failures.set(sequence, counted);
      if (this.failures.size > COUNTED_RECORDS) this.failures.delete(this.failures.keys().next().value!);
      return false;
    }
    try {
      await this.deadLetters.add(LAMBDA_SHARD, record, counted.tries, error);
    } catch (writeError) {
      this.failures.set(sequence, counted);
      this.logger.warn(
        `stream record ${sequence}: its dead letter was not written (${
          writeError instanceof Error ? `${writeError.name}: ${writeError.message}` : String(writeError)
        }); Lambda retries it`,
      );
      return false;
    }
    this.metrics.streamWorker().deadLetters.inc();
    this.logger.error(
      `stream record ${sequence} failed ${counted.tries} times in this container, ${Math.round(age / 1000)} s after its write: written to the dead-letter list, the batch goes on`,
    );
    return true;
  }
}
