import { ApiTimestamp } from '../common/dto/api-timestamp.js';

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
  state!: 'off' | 'running' | 'stalled';
  /** When the worker last finished a pass with no failing shard, if it has. */
  @ApiTimestamp()
  lastProgressAt?: string;
}
