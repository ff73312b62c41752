import { Controller, Get, Inject } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { Public } from '../identity/auth.decorators.js';
import { serviceUnavailable } from '../common/errors/domain-error.js';
import { ErrorCode } from '../common/errors/error-codes.js';
import { ApiProblemResponses } from '../http/api-problem-responses.decorator.js';
import { DYNAMODB_CLIENT, DYNAMODB_TABLE_NAME } from '../dynamo/dynamo.constants.js';
import { Keys } from '../dynamo/keys.js';
import { StreamPoller } from '../stream/stream-poller.js';
import { HealthDto, ReadinessDto, StreamWorkerHealthDto } from './health.dto.js';

/** Probes for load balancers and orchestrators; outside `/api/v1` by convention. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    @Inject(DYNAMODB_CLIENT) private readonly client: DynamoDBClient,
    @Inject(DYNAMODB_TABLE_NAME) private readonly tableName: string,
    private readonly streamWorker: StreamPoller,
  ) {}

  /**
   * Liveness probe
   *
   * @remarks Answers 200 while the process runs. It never touches the database, so a load balancer does not
   * restart an instance because DynamoDB is slow.
   */
  @Get('live')
  live(): HealthDto {
    return { status: 'ok' };
  }

  /**
   * Readiness probe
   *
   * @remarks Answers 200 when the table answers a GetItem of a fixed key within 2 s (the item need
   * not exist); otherwise 503 `database_unavailable` with `Retry-After`, so traffic moves to another
   * instance. A GetItem costs the same on an empty table and at any size, where DescribeTable grew
   * to most of a second at 100k items; the table's definition is checked once, at start-up.
   * It is about the API's own ability to serve: a stalled stream worker in the process does not
   * take the instance out of the load balancer (see `/health/worker`).
   */
  @Get('ready')
  @ApiProblemResponses(503)
  async ready(): Promise<ReadinessDto> {
    const { PK, SK } = Keys.readinessProbe;
    try {
      await this.client.send(
        new GetItemCommand({
          TableName: this.tableName,
          Key: { PK: { S: PK }, SK: { S: SK } },
          ProjectionExpression: 'PK',
        }),
        { abortSignal: AbortSignal.timeout(2000) },
      );
    } catch {
      throw serviceUnavailable(ErrorCode.DatabaseUnavailable, 'DynamoDB or its table is not available.', 5);
    }
    return { status: 'ok', table: 'ACTIVE' };
  }

  /**
   * Stream worker probe
   *
   * @remarks The state of the stream worker in this process (`STREAM_WORKER=inline`): 200 with
   * `off` or `running`; 503 `stream_worker_stalled` when it has made no progress for
   * `STREAM_WORKER_STALL_SECONDS`. For alerting (also `stream_worker_stalled` in `/metrics`), not for
   * a load balancer: background work that is stuck is no reason to stop serving requests.
   */
  @Get('worker')
  @ApiProblemResponses(503)
  worker(): StreamWorkerHealthDto {
    const status = this.streamWorker.status();
    if (status.state === 'stalled') {
      throw serviceUnavailable(
        ErrorCode.StreamWorkerStalled,
        'The stream worker in this process has made no progress for too long.',
        5,
      );
    }
    return status.lastProgressAt
      ? { state: status.state, lastProgressAt: status.lastProgressAt }
      : { state: status.state };
  }
}
