import type { StreamRecord } from '../dynamo/stream-record.js';
import type { LambdaDeadLetters } from './lambda-dead-letters.js';
import type { StreamProcessor } from './stream-processor.js';

// The Lambda handler's batch logic, apart from the entry point (lambda.ts) that builds the whole
// app: its unit spec then loads the processor only, not every module of the app.

/** The event a DynamoDB event source mapping invokes the function with. */
export interface DynamoDBStreamEvent {
  Records: (StreamRecord & { eventSourceARN?: string })[];
}

/** A partial batch response (`FunctionResponseTypes: ["ReportBatchItemFailures"]`). */
export interface DynamoDBBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** What the handler needs from the app: the processor (a fake one in unit specs). */
export type ProcessorSource = () => Promise<Pick<StreamProcessor, 'handleBatch'>>;
/** And where it gives up on a record that keeps failing (none: every failure is Lambda's to retry). */
export type DeadLetterSource = () => Promise<Pick<LambdaDeadLetters, 'giveUp'>>;

/**
 * Builds a handler over a processor. The batch is handled in order. A record that fails is given
 * to `deadLetters`: when it gives up on it (a dead letter written), the batch goes on after it;
 * otherwise every record from it on is reported in `batchItemFailures` (by sequence number), so
 * Lambda checkpoints before it and retries from it, the ordered-stream rule of partial batch
 * responses. A batch that throws as a whole (the context cannot be built) is retried entirely.
 */
export function createStreamHandler(processor: ProcessorSource, deadLetters?: DeadLetterSource) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const records = event.Records ?? [];
    const handler = await processor();
    for (let from = 0; from < records.length;) {
      const outcome = await handler.handleBatch(records.slice(from));
      if (outcome.failedAt === undefined) break;
      const failedAt = from + outcome.failedAt;
      if (!deadLetters || !(await (await deadLetters()).giveUp(records[failedAt], outcome.error))) {
        return {
          batchItemFailures: records
            .slice(failedAt)
            .map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' })),
        };
      }
      from = failedAt + 1;
    }
    return { batchItemFailures: [] };
  };
}
