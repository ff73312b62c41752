import { ApiProperty } from '@nestjs/swagger';
import { ApiTimestamp } from '../common/dto/api-timestamp.js';

const STREAM_WORKER_STATES = ['off', 'running', 'stalled'] as const;

export class HealthDto {
  /** @example ok */
  status!: string;
}

export class ReadinessDto extends HealthDto {
  /** Status of the DynamoDB table. @example ACTIVE */
  table!: string;
}

export class StreamWorkerHealthDto {
  /** `off` when no worker runs in this process, `running`, or `stalled` (no progress for too long). @example running */
  @ApiProperty({ enum: STREAM_WORKER_STATES })
  state!: (typeof STREAM_WORKER_STATES)[number];
  /** When the worker last finished a pass with no failing shard, if it has. */
  @ApiTimestamp()
  lastProgressAt?: string;
}
