import type { StreamRecord } from '../dynamo/stream-record.js';
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

/**
 * Builds a handler over a processor. The batch is handled in order; from the first record that
 * fails, every record is reported in `batchItemFailures` (by sequence number), so Lambda
 * checkpoints before it and retries from it, the ordered-stream rule of partial batch responses.
 * A batch that throws as a whole (the context cannot be built) is retried entirely.
 */
export function createStreamHandler(processor: ProcessorSource) {
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const records = event.Records ?? [];
    const outcome = await (await processor()).handleBatch(records);
    if (outcome.failedAt === undefined) return { batchItemFailures: [] };
    return {
      batchItemFailures: records
        .slice(outcome.failedAt)
        .map((record) => ({ itemIdentifier: record.dynamodb?.SequenceNumber ?? '' })),
    };
  };
}
