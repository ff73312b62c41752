import { Global, Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { CursorCodec } from './cursor.js';
import { RateLimiter } from './rate-limiter.js';
import { createDocumentClient, createDynamoClient } from './dynamo-client.factory.js';
import { DYNAMODB_CLIENT, DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME } from './dynamo.constants.js';

/**
 * Provides the process-wide DynamoDB client, the document client built on it, the table
 * name, the cursor codec and the shared request limiter. Feature repositories inject these by token.
 */
@Global()
@Module({
  providers: [
    {
      provide: DYNAMODB_CLIENT,
      inject: [APP_CONFIG, AppMetrics],
      useFactory: (config: AppConfig, metrics: AppMetrics) =>
        createDynamoClient(config.dynamo, (call) => metrics.observeDynamo(call)),
    },
    {
      provide: DYNAMODB_DOCUMENT_CLIENT,
      inject: [DYNAMODB_CLIENT],
      useFactory: (client: DynamoDBClient) => createDocumentClient(client),
    },
    {
      provide: DYNAMODB_TABLE_NAME,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => config.dynamo.tableName,
    },
    {
      provide: CursorCodec,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new CursorCodec(config.cursorSecret),
    },
    RateLimiter,
  ],
  exports: [DYNAMODB_CLIENT, DYNAMODB_DOCUMENT_CLIENT, DYNAMODB_TABLE_NAME, CursorCodec, RateLimiter],
})
export class DynamoModule implements OnApplicationShutdown {
  constructor(@Inject(DYNAMODB_CLIENT) private readonly client: DynamoDBClient) {}

  onApplicationShutdown(): void {
    this.client.destroy();
  }
}
