import { Inject, Injectable, Logger } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { classifyKey, type StreamItemType } from '../dynamo/item-types.js';
import type { StreamHandler } from './stream-handler.js';
import { STREAM_HANDLERS } from './stream.constants.js';
import { recordTime, type StreamRecord, toItemChange } from '../dynamo/stream-record.js';

/** How a batch went: the records handled in order before the first failure, if any. */
export interface BatchOutcome {
  /** Records handled, from the first: `records.slice(0, handled)` are done. */
  handled: number;
  /** The index of the record that failed (the rest of the batch was not tried). */
  failedAt?: number;
  error?: unknown;
}

/**
 * The one stream processor, whichever host feeds it (the local poller, the Lambda handler).
 * Records are handled strictly in order: per item, the stream's order is the order of the
 * writes, and a record that fails stops the batch, so the host retries from it and never
 * checkpoints past work not done.
 */
@Injectable()
export class StreamProcessor {
  private readonly logger = new Logger(StreamProcessor.name);

  constructor(
    @Inject(STREAM_HANDLERS) private readonly handlers: StreamHandler[],
    private readonly metrics: AppMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Handles a batch from one shard; `shard` labels the lag metric. */
  async handleBatch(records: readonly StreamRecord[], shard = 'lambda'): Promise<BatchOutcome> {
    const worker = this.metrics.streamWorker();
    if (records.length === 0) return { handled: 0 };
    const oldest = recordTime(records[0]);
    if (oldest) worker.lagSeconds.set({ shard }, Math.max(0, (this.clock.now().getTime() - oldest.getTime()) / 1000));
    const stopTimer = worker.batchDuration.startTimer();
    try {
      // Records from `stopAt` on are not handled this time (a coalescing handler failed on one).
      let stopAt = records.length;
      let coalescedError: unknown;
      try {
        await this.handleCoalesced(records);
      } catch (error) {
        this.logger.warn(
          `stream batch of ${records.length} failed in a coalescing handler: ${
            error instanceof Error ? `${error.name}: ${error.message}` : String(error)
          }`,
        );
        // Which record fails? Each one alone (the coalesced effects are idempotent, so those done
        // twice change nothing). The records before it are handled and the failure is reported at
        // it, so a record that keeps failing is the one the host dead-letters, not the batch's
        // first (review 12, M4). When none fails alone, every record's coalesced work has just
        // been done, each alone and in stream order: the coalesced part is complete, and the batch
        // goes on to the per-record handlers. Blaming record 0 instead (as before, review 20a M2)
        // made the host dead-letter an innocent record, then the next, for as long as the batch
        // failed only as a whole (a fold over DynamoDB's expression limit); a failure of the
        // database that is gone now needs no retry either, the work being done.
        const failing = await this.firstFailingAlone(records);
        if (failing) {
          stopAt = failing.index;
          coalescedError = failing.error;
        } else {
          this.logger.warn(`stream batch of ${records.length}: every record's coalescing handlers succeeded alone`);
        }
      }
      for (let index = 0; index < stopAt; index++) {
        const record = records[index];
        const event = record.eventName ?? 'unknown';
        try {
          await this.handleRecord(record);
          worker.records.inc({ event, outcome: 'ok' });
        } catch (error) {
          worker.records.inc({ event, outcome: 'error' });
          // The record's key is not logged: some keys hold a token hash.
          this.logger.warn(
            `stream record ${record.dynamodb?.SequenceNumber ?? '?'} (${event}) failed: ${
              error instanceof Error ? `${error.name}: ${error.message}` : String(error)
            }`,
          );
          return { handled: index, failedAt: index, error };
        }
      }
      if (stopAt < records.length) return { handled: stopAt, failedAt: stopAt, error: coalescedError };
      return { handled: records.length };
    } finally {
      stopTimer();
    }
  }

  private async handleRecord(record: StreamRecord): Promise<void> {
    const change = toItemChange(record);
    const { type, id } = classifyKey(change.key);
    for (const handler of this.handlers) {
      if (!handler.handleBatch && typesOf(handler).includes(type)) await handler.handle(change, id);
    }
  }

  /** The first record whose coalescing handlers fail when it is handled alone, and their error. */
  private async firstFailingAlone(
    records: readonly StreamRecord[],
  ): Promise<{ index: number; error: unknown } | undefined> {
    for (let index = 0; index < records.length; index++) {
      try {
        await this.handleCoalesced([records[index]]);
      } catch (error) {
        return { index, error };
      }
    }
    return undefined;
  }

  /** The handlers that take a batch at once get their records first (a malformed one is left to the loop). */
  private async handleCoalesced(records: readonly StreamRecord[]): Promise<void> {
    const coalescing = this.handlers.filter((handler) => handler.handleBatch !== undefined);
    if (coalescing.length === 0) return;
    const changes = records.flatMap((record) => {
      try {
        const change = toItemChange(record);
        return [{ change, ...classifyKey(change.key) }];
      } catch {
        return [];
      }
    });
    for (const handler of coalescing) {
      const types = typesOf(handler);
      const mine = changes.filter((change) => types.includes(change.type));
      if (mine.length > 0) await handler.handleBatch!(mine.map(({ change, id }) => ({ change, id })));
    }
  }
}

function typesOf(handler: StreamHandler): readonly StreamItemType[] {
  const { itemType } = handler;
  return typeof itemType === 'string' ? [itemType] : itemType;
}
