import { Agent as HttpAgent, type IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  INITIAL_RETRY_TOKENS,
  isThrottlingError,
  isTransientError,
  MAXIMUM_RETRY_DELAY,
  NO_RETRY_INCREMENT,
  Retry,
} from '@smithy/core/retry';
import { systemClock } from '../common/clock/clock.js';
import { newRequestId } from '../common/ids.js';
import { type DatabaseGate, withCallerSignal } from './database-gate.js';
import { fromAttr, toAttr } from './lean-marshall.js';
import { LeanSigner, type SigningCredentials } from './lean-signer.js';
import { accountCall, type DynamoCallHook, type DynamoCallObserver } from './request-accounting.js';

/**
 * The data-plane commands of lib-dynamodb this transport sends itself, by class, with their
 * DynamoDB operation (the `X-Amz-Target`). Any other command goes to the SDK.
 */
const OPERATIONS = new Map<unknown, string>([
  [GetCommand, 'GetItem'],
  [PutCommand, 'PutItem'],
  [UpdateCommand, 'UpdateItem'],
  [DeleteCommand, 'DeleteItem'],
  [QueryCommand, 'Query'],
  [ScanCommand, 'Scan'],
  [BatchGetCommand, 'BatchGetItem'],
  [BatchWriteCommand, 'BatchWriteItem'],
  [TransactGetCommand, 'TransactGetItems'],
  [TransactWriteCommand, 'TransactWriteItems'],
]);

/** The DynamoDB operation a command is sent as by this transport, or undefined (the SDK's). */
export const leanOperationOf = (command: unknown): string | undefined =>
  OPERATIONS.get((command as { constructor?: unknown } | null)?.constructor);

/** lib-dynamodb's description of which parts of an input or output are attribute values. */
type KeyNodes = Record<string, unknown> | null;
type Processor = (value: unknown) => unknown;

/** How a key-nodes object reads: every member a value, every member one level down, named members. */
const ALL = 0;
const EACH = 1;
const NAMED = 2;
/** The shape of a key-nodes object, without the array of `Object.keys` (lib-dynamodb builds them per command). */
function shapeOf(nodes: object): number {
  let count = 0;
  let star = false;
  for (const key in nodes) {
    if (++count > 1) return NAMED;
    star = key === '*';
  }
  return count === 0 ? ALL : star ? EACH : NAMED;
}

// The walk of lib-dynamodb's `marshallInput`/`unmarshallOutput` (commands/utils.js, not exported):
// `{}` marks "every member is a value", `{ '*': nodes }` "every member, one level down", named keys
// "these members only"; everything else passes through unchanged.
function processValue(value: unknown, process: Processor, nodes: KeyNodes | undefined): unknown {
  if (value === undefined) return undefined;
  if (nodes == null) return process(value);
  const shape = shapeOf(nodes);
  if (shape === EACH) {
    const next = nodes['*'] as KeyNodes;
    const out: Record<string, unknown> | unknown[] = Array.isArray(value) ? [] : {};
    for (const key of Object.keys(value as object)) {
      const member = (value as Record<string, unknown>)[key];
      if (typeof member !== 'function') (out as Record<string, unknown>)[key] = processValue(member, process, next);
    }
    return out;
  }
  if (shape === ALL) return processAll(value, process);
  return processKeys(value as Record<string, unknown>, process, nodes);
}

function processAll(value: unknown, process: Processor): unknown {
  if (Array.isArray(value)) {
    return value.filter((item) => typeof item !== 'function').map((item) => processValue(item, process, null));
  }
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value as object)) {
    const member = (value as Record<string, unknown>)[key];
    if (member === undefined || typeof member === 'function') continue;
    const processed = process(member);
    if (processed !== undefined && typeof processed !== 'function') out[key] = processed;
  }
  return out;
}

function processKeys(value: Record<string, unknown>, process: Processor, nodes: Record<string, unknown>): unknown {
  let out: Record<string, unknown> | unknown[];
  if (Array.isArray(value)) out = value.filter((item) => typeof item !== 'function');
  else {
    out = {};
    for (const key in value) if (typeof value[key] !== 'function') out[key] = value[key];
  }
  for (const key in nodes) {
    if (typeof value[key] === 'function') continue;
    const processed = processValue(value[key], process, nodes[key] as KeyNodes);
    if (processed !== undefined && typeof processed !== 'function') (out as Record<string, unknown>)[key] = processed;
  }
  return out;
}

// util-dynamodb's marshall/unmarshall of one value, without its per-call option handling (lean-marshall.ts).
const toWire: Processor = toAttr;
const fromWire: Processor = fromAttr;

/** A command's input in DynamoDB JSON, as lib-dynamodb gives it to the SDK's serializer. */
export const marshallInput = (input: object, nodes: KeyNodes): Record<string, unknown> =>
  processKeys(input as Record<string, unknown>, toWire, nodes ?? {}) as Record<string, unknown>;

/** An answer in DynamoDB JSON as lib-dynamodb returns it to the caller (plain values). */
export const unmarshallOutput = (output: object, nodes: KeyNodes): Record<string, unknown> =>
  processKeys(output as Record<string, unknown>, fromWire, nodes ?? {}) as Record<string, unknown>;

// Binary attributes (`B`, `BS`) travel as base64 in the JSON protocol. `Buffer#toJSON` runs before
// a replacer sees the value, hence the look at the holder's own member. A replacer slows every
// `JSON.stringify` several times, so it only runs when a plain one shows a binary (or an attribute
// named `B` holding a map: harmless).
function binaryReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const own = this[key];
  return own instanceof Uint8Array ? Buffer.from(own.buffer, own.byteOffset, own.byteLength).toString('base64') : value;
}
const binaryReviver = (key: string, value: unknown): unknown => {
  if (key === 'B' && typeof value === 'string') return new Uint8Array(Buffer.from(value, 'base64'));
  if (key === 'BS' && Array.isArray(value))
    return value.map((item) => new Uint8Array(Buffer.from(String(item), 'base64')));
  return value;
};
// Substring searches, several times cheaper than a regular expression over a whole answer.
/** An answer that names a binary attribute (`"B":` or `"BS":`) anywhere: parsed with the reviver. */
const hasBinary = (text: string): boolean => text.includes('"B":') || text.includes('"BS":');
/** A plain body with a `Uint8Array` as `B` or in `BS` (JSON.stringify makes it `{"0":...}`). */
const mayHoldBinary = (text: string): boolean => text.includes('"B":{') || text.includes('"BS":[{');

/** The request body: DynamoDB JSON as marshalled, binaries in base64. */
export function toBody(input: Record<string, unknown>): string {
  const plain = JSON.stringify(input);
  return mayHoldBinary(plain) ? JSON.stringify(input, binaryReplacer) : plain;
}

/** `$metadata` of an answer or a failure, as the SDK fills it. */
export interface ResponseMetadata {
  httpStatusCode?: number;
  requestId?: string;
  attempts: number;
  totalRetryDelay: number;
  /** The refusal came with a server clock far from ours, and the clock offset was corrected (retried). */
  clockSkewCorrected?: boolean;
}

/**
 * A refusal DynamoDB sent (or a failed attempt), shaped as the SDK's service exceptions are for
 * everything that reads them (`dynamo-errors.ts`, the gate, the repositories): `name` is the
 * error code (`ConditionalCheckFailedException`), `$fault`, `$metadata.httpStatusCode`, and the
 * body's members (`CancellationReasons`, `Item`) as they came (DynamoDB JSON, as the SDK leaves them).
 */
export class DynamoServiceError extends Error {
  readonly $fault: 'client' | 'server';
  $metadata: ResponseMetadata;
  [member: string]: unknown;

  constructor(name: string, message: string, status: number, requestId: string | undefined, members: object) {
    super(message);
    Object.assign(this, members);
    this.name = name;
    this.$fault = status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: status, requestId, attempts: 1, totalRetryDelay: 0 };
  }
}

/** The error code of a failed answer: `x-amzn-errortype` or the body's `__type`, without namespace or suffix. */
function errorCode(headers: IncomingHttpHeaders, body: Record<string, unknown>): string {
  const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
  const raw = text(headers['x-amzn-errortype']) ?? text(body.__type) ?? text(body.code) ?? 'UnknownError';
  const code = raw.split(':')[0];
  return code.includes('#') ? code.slice(code.lastIndexOf('#') + 1) : code;
}

export function errorFromAnswer(status: number, headers: IncomingHttpHeaders, text: string): DynamoServiceError {
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text, hasBinary(text) ? binaryReviver : undefined) as Record<string, unknown>) : {};
  } catch {
    body = {};
  }
  const { __type: _type, message, Message, code: _code, ...members } = body;
  const requestId = headers['x-amzn-requestid'] as string | undefined;
  const name = errorCode(headers, body);
  const said = [message, Message].find((value): value is string => typeof value === 'string');
  return new DynamoServiceError(name, said ?? name, status, requestId, members);
}

/**
 * A 2xx body as DynamoDB JSON, or undefined when it is not JSON (a proxy's page, a cut body).
 * Binaries stay base64 strings: every attribute value of an answer goes through
 * `unmarshallOutput`, whose `fromAttr` decodes them (lean-marshall.ts).
 */
function parseAnswer(text: string): Record<string, unknown> | undefined {
  if (!text) return {};
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** The error of a 2xx answer that is not DynamoDB JSON: a server fault, transient (retried) as a 5xx. */
function invalidAnswer(status: number, requestId: string | undefined): DynamoServiceError {
  const error = new DynamoServiceError(
    INVALID_ANSWER,
    'DynamoDB answered with a body that is not JSON',
    status,
    requestId,
    {
      $retryable: {},
    },
  );
  (error as { $fault: string }).$fault = 'server';
  return error;
}

export interface LeanTransportOptions {
  region: string;
  /**
   * Where to send: a URL, or its resolution in progress (`sdkEndpointOf`, the SDK client's own:
   * `DYNAMODB_ENDPOINT`, `AWS_ENDPOINT_URL_DYNAMODB`, FIPS, dual-stack, the region's partition).
   */
  endpoint: string | Promise<string>;
  /** Keys or a provider of them (the SDK client's resolved chain, which refreshes itself). */
  credentials: SigningCredentials;
  maxAttempts: number;
  connectionTimeoutMs: number;
  /** Socket idle time of one attempt (as the SDK's `requestTimeout`); the gate bounds the whole call. */
  requestTimeoutMs: number;
  maxSockets: number;
  /** Tests: a fixed signing date (the signer reads the clock otherwise). */
  signingDate?: () => Date;
  /** Tests: backoff jitter (Math.random otherwise). */
  random?: () => number;
  /** Tests: the largest answer read (`MAX_RESPONSE_BYTES` otherwise). */
  maxResponseBytes?: number;
}

/**
 * DynamoDB's answers stay under 16 MB (a 1 MB page, 100 items of 400 KB of BatchGetItem, in JSON):
 * anything larger is not DynamoDB (a proxy, a broken stream) and is cut before it fills the memory.
 */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/**
 * An answer that is not DynamoDB's: a 2xx body that is not JSON (a proxy's HTML, a truncated body),
 * or one past `MAX_RESPONSE_BYTES`. `dynamo-errors.ts` maps both to 503 database_unavailable.
 */
export const INVALID_ANSWER = 'InvalidResponseException';
export const ANSWER_TOO_LARGE = 'ResponseTooLargeException';

/** The resolved endpoint and the sockets to it. */
interface Target {
  url: URL;
  host: string;
  agent: HttpAgent;
  send: typeof httpRequest;
  /** SigV4 of requests to this URL's path. */
  signer: LeanSigner;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** When the attempt was signed, and the clock offset it was signed with. */
  sentAt: number;
  offset: number;
}

/** A skew of the signing clock past which the SDK retries a refusal once corrected (4 minutes). */
const CLOCK_SKEW_MS = 240_000;

const timeoutError = (message: string): Error => Object.assign(new Error(message), { name: 'TimeoutError' });

/** The error of an attempt its signal ended, as node:http's `signal` option gives it (an `AbortError`, the reason as cause). */
const abortError = (signal: AbortSignal): Error =>
  Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });

/** Sleeps `ms`, or rejects at once with the signal's reason when it aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * One POST of the DynamoDB JSON protocol per attempt: keep-alive sockets, SigV4 of our own for this
 * one request shape (lean-signer.ts: the SDK signer's output, byte for byte), the SDK's standard
 * retry rules (throttling, transient and 5xx failures; exponential backoff with full jitter; a retry
 * quota) and no middleware.
 */
export class LeanDynamoTransport {
  /** Set once the endpoint is resolved (at start); until then calls wait for `ready`. */
  private target: Target | undefined;
  private readonly ready: Promise<Target>;
  /**
   * The SDK's retry quota (StandardRetryStrategy): a retry spends its cost, a success refunds the
   * cost of the retry that got it through (1 without a retry), so retries that succeed cost nothing
   * and only a failing engine drains it and stops being hammered.
   */
  private retryCapacity = INITIAL_RETRY_TOKENS;
  /**
   * Server time minus ours, from the `Date` of each answer, as the SDK's signer keeps its
   * `systemClockOffset` (review 14, L-A1): a host whose clock is off by more than 5 minutes signs
   * at the server's time instead of failing every call with "Signature expired".
   */
  private clockOffset = 0;

  /** Tests: the retry quota left (500 when full). */
  get retryQuota(): number {
    return this.retryCapacity;
  }

  constructor(private readonly options: LeanTransportOptions) {
    this.ready = Promise.resolve(options.endpoint).then((endpoint) => {
      const url = new URL(endpoint);
      const https = url.protocol === 'https:';
      this.target = {
        url,
        host: url.host,
        agent: https
          ? new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets })
          : new HttpAgent({ keepAlive: true, maxSockets: options.maxSockets }),
        send: https ? httpsRequest : httpRequest,
        signer: new LeanSigner(
          { credentials: options.credentials, region: options.region, service: 'dynamodb' },
          url.pathname,
        ),
      };
      return this.target;
    });
    // A resolution that failed (a bad region or FIPS with a custom endpoint) fails every call instead.
    this.ready.catch(() => undefined);
  }

  /** The URL calls go to, once resolved. */
  async endpoint(): Promise<string> {
    return (await this.ready).url.href;
  }

  /**
   * The headers of one signed request (the parity specs): `extra` (lower-case names) joins the
   * transport's own, as the SDK's request carries more; headers the signer writes are dropped first.
   */
  async signedHeaders(
    target: string,
    body: string,
    extra: Record<string, string> = {},
  ): Promise<Record<string, string>> {
    const resolved = this.target ?? (await this.ready);
    const credentials = await resolved.signer.credentials();
    const headers = { ...this.requestHeaders(resolved, target, body), ...LeanSigner.withoutGenerated(extra) };
    return resolved.signer.sign(credentials, headers, body, this.signingTime(systemClock.now().getTime()));
  }

  /** The unsigned headers of one request. */
  private requestHeaders({ host }: Target, target: string, body: string): Record<string, string> {
    return {
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${target}`,
      'content-length': String(Buffer.byteLength(body)),
      host,
    };
  }

  /** When a request made at `now` (epoch ms) is signed: the server's time as last seen (tests: a fixed date). */
  private signingTime(now: number): number {
    return this.options.signingDate ? this.options.signingDate().getTime() : now + this.clockOffset;
  }

  /** Sends one operation (its input in DynamoDB JSON) with retries; resolves with the parsed answer. */
  async call(
    operation: string,
    input: Record<string, unknown>,
    signal?: AbortSignal,
  ): Promise<Record<string, unknown> & { $metadata: ResponseMetadata }> {
    const body = toBody(input);
    let totalRetryDelay = 0;
    // The cost of the last retry taken: what a success gives back to the quota, as the SDK's token.
    let retryCost: number | undefined;
    for (let attempt = 1; ; attempt++) {
      let answer: Answer;
      try {
        answer = await this.attempt(operation, body, signal);
      } catch (error) {
        // Network failures and attempt timeouts; an abort (the gate's deadline) is never retried.
        const retry = await this.backoff(error, attempt, signal);
        totalRetryDelay += retry.delay;
        retryCost = retry.cost;
        continue;
      }
      const requestId = answer.headers['x-amzn-requestid'] as string | undefined;
      const corrected = this.sampleClock(answer);
      const output = answer.status >= 200 && answer.status < 300 ? parseAnswer(answer.text) : undefined;
      if (output) {
        this.retryCapacity = Math.min(INITIAL_RETRY_TOKENS, this.retryCapacity + (retryCost ?? NO_RETRY_INCREMENT));
        const $metadata = { httpStatusCode: answer.status, requestId, attempts: attempt, totalRetryDelay };
        return Object.assign(output, { $metadata });
      }
      // A refusal, or a 2xx that is not DynamoDB JSON: the latter is retried (a transient error).
      const error =
        answer.status >= 200 && answer.status < 300
          ? invalidAnswer(answer.status, requestId)
          : errorFromAnswer(answer.status, answer.headers, answer.text);
      error.$metadata.attempts = attempt;
      error.$metadata.totalRetryDelay = totalRetryDelay;
      // As the SDK: a refusal after which the clock was corrected is transient (signed anew, retried).
      if (corrected) error.$metadata.clockSkewCorrected = true;
      const retry = await this.backoff(error, attempt, signal);
      totalRetryDelay += retry.delay;
      retryCost = retry.cost;
    }
  }

  /**
   * Takes the server's clock from an answer's `Date` as the SDK's signer does (not from a cached
   * answer, one with `Age`, nor from one that took over 15 minutes). True when the offset changed
   * since the attempt was signed and is past `CLOCK_SKEW_MS`: the refusal was the skew's.
   */
  private sampleClock(answer: Answer): boolean {
    const date = answer.headers.date;
    if (answer.headers.age !== undefined || !date) return false;
    const serverTime = Date.parse(date);
    const now = systemClock.now().getTime();
    if (Number.isNaN(serverTime) || now - answer.sentAt > 900_000) return false;
    this.clockOffset = serverTime - now;
    return Math.abs(this.clockOffset) >= CLOCK_SKEW_MS && this.clockOffset !== answer.offset;
  }

  /**
   * Waits before the next attempt when `error` is retried, else throws it. Returns the delay and
   * the quota the retry spent. Costs as the SDK's StandardRetryStrategy (retries-2026 config):
   * throttling 5, any transient failure 14 (a timeout included: the pre-SRA quota's
   * TIMEOUT_RETRY_COST of 10 belongs to its RETRY_COST of 5, and the SDK client uses this one).
   */
  private async backoff(
    error: unknown,
    attempt: number,
    signal: AbortSignal | undefined,
  ): Promise<{ delay: number; cost: number }> {
    if (signal?.aborted) throw error;
    const classified = error as Parameters<typeof isTransientError>[0];
    const throttling = isThrottlingError(classified);
    if (!throttling && !isTransientError(classified)) throw error;
    const cost = throttling ? Retry.throttlingCost() : Retry.cost();
    if (attempt >= this.options.maxAttempts || this.retryCapacity < cost) throw error;
    this.retryCapacity -= cost;
    const base = throttling ? Retry.throttlingDelay() : Retry.delay();
    const delay = Math.floor(
      (this.options.random ?? Math.random)() * Math.min(base * 2 ** (attempt - 1), MAXIMUM_RETRY_DELAY),
    );
    await sleep(delay, signal);
    return { delay, cost };
  }

  private async attempt(operation: string, body: string, signal: AbortSignal | undefined): Promise<Answer> {
    const target = this.target ?? (await this.ready);
    const { url, agent, send, signer } = target;
    // Read on every attempt: a provider's refreshed keys sign the very next one.
    const credentials = await signer.credentials();
    const offset = this.clockOffset;
    const sentAt = systemClock.now().getTime();
    const headers = signer.sign(
      credentials,
      this.requestHeaders(target, operation, body),
      body,
      this.signingTime(sentAt),
    );
    // As a flat list, node writes the headers as given (host included) without a setHeader each.
    const rawHeaders: string[] = [];
    for (const name in headers) rawHeaders.push(name, headers[name]);
    return new Promise<Answer>((settleResolve, settleReject) => {
      if (signal?.aborted) return settleReject(abortError(signal));
      const { connectionTimeoutMs, requestTimeoutMs } = this.options;
      let connecting: NodeJS.Timeout | undefined;
      const request = send({
        agent,
        method: 'POST',
        protocol: url.protocol,
        hostname: url.hostname,
        port: url.port || undefined,
        path: url.pathname,
        headers: rawHeaders,
      });
      // The gate's deadline ends the attempt: one listener of our own, removed when the attempt
      // settles. node:http's `signal` option does the same through an end-of-stream watch on the
      // request (a dozen listeners added and removed a call): 10-25 µs more CPU per call
      // (docs/performance.md, "Session 21: the HTTP client per call").
      const onAbort = () => request.destroy(abortError(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      const resolve = (answer: Answer) => {
        signal?.removeEventListener('abort', onAbort);
        settleResolve(answer);
      };
      const reject = (error: Error) => {
        signal?.removeEventListener('abort', onAbort);
        settleReject(error);
      };
      request.once('socket', (socket) => {
        if (!socket.connecting) return;
        connecting = setTimeout(
          () => request.destroy(timeoutError(`No connection to DynamoDB within ${connectionTimeoutMs} ms`)),
          connectionTimeoutMs,
        );
        socket.once('connect', () => clearTimeout(connecting));
      });
      // As the SDK's NodeHttpHandler `requestTimeout` with `throwOnRequestTimeout`: an idle socket fails the attempt.
      request.setTimeout(requestTimeoutMs, () =>
        request.destroy(timeoutError(`DynamoDB did not answer within ${requestTimeoutMs} ms`)),
      );
      request.on('error', (error) => {
        clearTimeout(connecting);
        reject(error);
      });
      request.once('response', (response) => {
        const chunks: Buffer[] = [];
        const limit = this.options.maxResponseBytes ?? MAX_RESPONSE_BYTES;
        let size = 0;
        const onData = (chunk: Buffer) => {
          size += chunk.length;
          if (size <= limit) return void chunks.push(chunk);
          const tooLarge = new DynamoServiceError(
            ANSWER_TOO_LARGE,
            `DynamoDB's answer was larger than ${limit} bytes`,
            response.statusCode ?? 0,
            response.headers['x-amzn-requestid'] as string | undefined,
            {},
          );
          chunks.length = 0;
          response.off('data', onData);
          reject(tooLarge);
          request.destroy();
        };
        response.on('data', onData);
        // `on`, not `once`: a destroyed response may report more than one error.
        response.on('error', reject);
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text: chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'),
            sentAt,
            offset,
          }),
        );
      });
      request.end(body);
    });
  }

  destroy(): void {
    this.target?.agent.destroy();
  }
}

export interface LeanDocumentClientOptions {
  transport: LeanDynamoTransport;
  gate: DatabaseGate | undefined;
  observer: DynamoCallObserver | undefined;
  hooks: readonly DynamoCallHook[];
  /** Every command this client does not send itself (table management, PartiQL...). */
  fallback: DynamoDBDocumentClient;
}

interface DocumentCommand {
  input: Record<string, unknown>;
  inputKeyNodes: KeyNodes;
  outputKeyNodes: KeyNodes;
}

/**
 * What the repositories get as their `DynamoDBDocumentClient`: `send` takes lib-dynamodb's
 * command objects and answers as lib-dynamodb does, through the same gate and accounting as the
 * SDK path, over `LeanDynamoTransport`. Other commands go to the SDK's document client.
 */
export class LeanDocumentClient {
  constructor(private readonly options: LeanDocumentClientOptions) {}

  send(command: unknown, options?: unknown, callback?: unknown): Promise<unknown> {
    if (typeof options === 'function' || callback !== undefined) {
      throw new Error('DynamoDB calls use promises here, not callbacks');
    }
    const operation = leanOperationOf(command);
    if (!operation) return this.options.fallback.send(command as never, options as never);
    const { gate } = this.options;
    const run = (signal: AbortSignal | undefined) => this.call(operation, command as DocumentCommand, signal);
    if (!gate) return run((options as { abortSignal?: AbortSignal } | undefined)?.abortSignal);
    return gate.run((signal) => run(withCallerSignal(signal, options)));
  }

  private call(operation: string, command: DocumentCommand, signal: AbortSignal | undefined): Promise<unknown> {
    const { transport, observer, hooks } = this.options;
    const name = `${operation}Command`;
    const input = command.input;
    return accountCall<Record<string, unknown>>(
      name,
      input,
      observer,
      // Not async: a hook's or the marshaller's throw still rejects (accountCall awaits inside a try).
      () => {
        for (const hook of hooks) hook(name, input);
        const wire = marshallInput(input, command.inputKeyNodes);
        // As the SDK's serializer: an idempotency token, so that a retried transaction applies once.
        if (operation === 'TransactWriteItems' && wire.ClientRequestToken === undefined) {
          wire.ClientRequestToken = newRequestId();
        }
        return transport
          .call(operation, wire, signal)
          .then((output) => unmarshallOutput(output, command.outputKeyNodes));
      },
      (output) => output.ConsumedCapacity,
    );
  }

  /** The SDK document client's `destroy`; the transport's sockets close with the base client. */
  destroy(): void {
    this.options.fallback.destroy();
  }
}
