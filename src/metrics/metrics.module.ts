import { Global, Module } from '@nestjs/common';
import { AppMetrics } from './app-metrics.js';

/** One `AppMetrics` per app instance; the DynamoDB client, the HTTP middleware and `/metrics` share it. */
@Global()
@Module({
  providers: [{ provide: AppMetrics, useFactory: () => new AppMetrics() }],
  exports: [AppMetrics],
})
export class MetricsModule {}
