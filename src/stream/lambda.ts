import 'reflect-metadata';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../app.module.js';
import { loadConfig } from '../config/app-config.js';
import { WebhookDispatcher } from '../events/webhook-dispatcher.js';
import { StreamProcessor } from './stream-processor.js';
import type { StreamRecord } from '../dynamo/stream-record.js';

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

let context: Promise<INestApplicationContext> | undefined;

/**
 * The Nest context, built once per container and kept between invocations. The configuration
 * comes from the function's environment (production rules: `JWT_SECRET`, `PUBLIC_URL`... as for
 * the API; `STREAM_WORKER` stays `off`, Lambda is the host here).
 */
function appContext(): Promise<INestApplicationContext> {
  if (!context) {
    context = NestFactory.createApplicationContext(AppModule.forRoot(loadConfig()), { logger: ['error', 'warn'] });
    // A failed start is not cached: the next invocation tries again.
    context.catch(() => (context = undefined));
  }
  return context;
}

/** The Lambda entry point: `dist/stream/lambda.handler`. */
export const handler = createStreamHandler(async () => (await appContext()).get(StreamProcessor));

/**
 * The scheduled entry point of webhook deliveries (an EventBridge schedule, e.g. every minute):
 * `dist/stream/lambda.deliverWebhooks`. On Lambda nothing else sends the due deliveries.
 */
export const deliverWebhooks = async (): Promise<{ changed: number }> => ({
  changed: await (await appContext()).get(WebhookDispatcher).dispatchDue(),
});
