import { Module } from '@nestjs/common';
import { StreamModule } from '../stream/stream.module.js';
import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';

@Module({ imports: [StreamModule], controllers: [HealthController, MetricsController] })
export class HealthModule {}
