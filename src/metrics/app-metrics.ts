import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** One finished DynamoDB call, as the DynamoDB client's accounting middleware reports it (`src/dynamo/request-accounting.ts`). */
export interface DynamoCall {
  /** Operation name without the `Command` suffix, e.g. `GetItem`, `TransactWriteItems`. */
  operation: string;
  durationMs: number;
  readCapacity: number;
  writeCapacity: number;
  /** False when the call threw (after the SDK's own retries). */
  ok: boolean;
}

/** Figures the DynamoDB Streams worker reports when it runs in this process (see `streamWorker()`). */
export interface StreamWorkerMetrics {
  /** Stream records handled, by event name (`INSERT`, `MODIFY`, `REMOVE`) and outcome (`ok`, `error`). */
  records: Counter<'event' | 'outcome'>;
  /** Per shard, the age of the oldest record not yet handled, in seconds (0 when caught up). */
  lagSeconds: Gauge<'shard'>;
  /** Time spent on one batch of records. */
  batchDuration: Histogram;
  /** 1 while the worker counts as stalled (no progress for `STREAM_WORKER_STALL_SECONDS`), else 0. */
  stalled: Gauge;
  /** Records in the dead-letter list (`STREAM#DEADLETTER`). */
  deadLetters: Gauge;
  /** Per shard, the times a checkpoint was older than the stream keeps (records lost: run `db:sweep-orphans`). */
  trimmed: Counter<'shard'>;
}

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const DYNAMO_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The Prometheus metrics of one app instance, in a registry of its own (not prom-client's
 * global one), so that two apps in one process, as in the e2e tests, never mix their figures
 * or register a metric twice.
 */
export class AppMetrics {
  readonly registry = new Registry();

  private readonly httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving an HTTP request to finishing its response, by route template and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_BUCKETS,
    registers: [this.registry],
  });

  private readonly dynamoDuration = new Histogram({
    name: 'dynamodb_operation_duration_seconds',
    help: 'Duration of DynamoDB calls (SDK retries included), by operation and outcome.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: DYNAMO_BUCKETS,
    registers: [this.registry],
  });

  private readonly dynamoCapacity = new Counter({
    name: 'dynamodb_consumed_capacity_units_total',
    help: 'Capacity units DynamoDB reported as consumed, by operation and kind (read or write).',
    labelNames: ['operation', 'kind'] as const,
    registers: [this.registry],
  });

  private worker: StreamWorkerMetrics | undefined;
  private webhooks: Counter<'outcome'> | undefined;
  private mails: Counter<'kind' | 'outcome'> | undefined;
  private fanInFull: Counter<'path'> | undefined;
  private workerStalled: () => boolean = () => false;

  constructor() {
    // The event-loop delay histogram samples with a libuv timer; at prom-client's default of 10 ms
    // that timer alone costs an idle app about 4.6 ms of CPU a second (measured 2026-11-27, load 14),
    // which the benchmarks count into every request of a slow operation (0.1-1 ms a like at 5-40
    // likes/s). Every 100 ms still catches any block of the loop: the next sample is late by it.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
  }

  /** Records one finished HTTP request. `route` is the route template (`/api/v1/posts/:id`), never the raw path. */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** Records one DynamoDB call (installed as the client's call observer). */
  observeDynamo(call: DynamoCall): void {
    this.dynamoDuration.observe(
      { operation: call.operation, outcome: call.ok ? 'ok' : 'error' },
      call.durationMs / 1000,
    );
    if (call.readCapacity > 0) this.dynamoCapacity.inc({ operation: call.operation, kind: 'read' }, call.readCapacity);
    if (call.writeCapacity > 0)
      this.dynamoCapacity.inc({ operation: call.operation, kind: 'write' }, call.writeCapacity);
  }

  /**
   * The hook for the stream worker: its metrics are registered the first time it asks for them,
   * so `/metrics` shows `stream_worker_*` only in a process where the worker runs.
   */
  streamWorker(stalled?: () => boolean): StreamWorkerMetrics {
    if (stalled) this.workerStalled = stalled;
    const probe = () => (this.workerStalled() ? 1 : 0);
    this.worker ??= {
      records: new Counter({
        name: 'stream_worker_records_total',
        help: 'DynamoDB stream records handled by the worker, by event name and outcome.',
        labelNames: ['event', 'outcome'] as const,
        registers: [this.registry],
      }),
      lagSeconds: new Gauge({
        name: 'stream_worker_lag_seconds',
        help: 'Per shard, age of the oldest stream record the worker has not handled yet (0 when caught up).',
        labelNames: ['shard'] as const,
        registers: [this.registry],
      }),
      batchDuration: new Histogram({
        name: 'stream_worker_batch_duration_seconds',
        help: 'Time the worker spent on one batch of stream records.',
        buckets: DYNAMO_BUCKETS,
        registers: [this.registry],
      }),
      stalled: new Gauge({
        name: 'stream_worker_stalled',
        help: 'Whether the stream worker has made no progress for STREAM_WORKER_STALL_SECONDS (1) or not (0).',
        registers: [this.registry],
        // Read when scraped: a worker stuck inside a call updates nothing itself.
        collect() {
          this.set(probe());
        },
      }),
      deadLetters: new Gauge({
        name: 'stream_worker_dead_letters',
        help: 'Stream records the worker gave up on after STREAM_WORKER_MAX_ATTEMPTS (the dead-letter list).',
        registers: [this.registry],
      }),
      trimmed: new Counter({
        name: 'stream_worker_trimmed_total',
        help: 'Per shard, checkpoints found older than the stream retention: records were lost (run db:sweep-orphans).',
        labelNames: ['shard'] as const,
        registers: [this.registry],
      }),
    };
    return this.worker;
  }

  /**
   * Webhook delivery attempts and their ends, by outcome: `delivered`, `failed` (retried later),
   * `dead` (dead-lettered after 8), `dropped` (webhook unconfigured, event gone or withdrawn). Issue 17.
   */
  webhookDeliveries(): Counter<'outcome'> {
    this.webhooks ??= new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook deliveries by outcome: delivered, failed (to be retried), dead (dead-lettered), dropped.',
      labelNames: ['outcome'] as const,
      registers: [this.registry],
    });
    return this.webhooks;
  }

  /**
   * Transactional mails the stream processor handed to the mailer, by kind and outcome (`sent`,
   * `failed`, retried; `refused` and the others, not sent). A failure is only logged otherwise, so
   * this is what an alert watches (review 4, #8; docs/streams.md).
   */
  mailDeliveries(): Counter<'kind' | 'outcome'> {
    this.mails ??= new Counter({
      name: 'mail_deliveries_total',
      help: 'Transactional mails (links and security notices) handed to the mailer, by kind and outcome: sent, failed (retried), refused (for good by the mail server: not retried), lost (a notice whose marker could not be given back) or skipped (a notice not sent because its change was undone before it went out, or to a never-verified address told within the day).',
      labelNames: ['kind', 'outcome'] as const,
      registers: [this.registry],
    });
    return this.mails;
  }

  /**
   * Authors the stream processor could not add to a reader's fan-in set because it holds
   * MAX_FAN_IN_AUTHORS already (`addFanInAuthor` answered `full`): that reader's feed lacks the
   * author's posts from then on, which nothing else shows but a `warn` line. By path: `promotion`
   * (the author passed FEED_FANOUT_MAX_FOLLOWERS) or `follow` (a new follow of a fan-in author).
   */
  fanInSetFull(): Counter<'path'> {
    this.fanInFull ??= new Counter({
      name: 'feed_fan_in_set_full_total',
      help: "Authors left out of a reader's full fan-in set (MAX_FAN_IN_AUTHORS): the reader's feed lacks their posts. By path: promotion or follow.",
      labelNames: ['path'] as const,
      registers: [this.registry],
    });
    return this.fanInFull;
  }

  /** The registry in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
