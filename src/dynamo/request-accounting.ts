import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoCall } from '../metrics/app-metrics.js';

/** What one HTTP request spent on DynamoDB. */
export class DynamoUsage {
  calls = 0;
  durationMs = 0;
  readCapacity = 0;
  writeCapacity = 0;
  /** Command names in call order, handy when a test wants to know which calls ran. */
  readonly commands: string[] = [];
  /** A database call of this request timed out: later ones fail at once (DatabaseGate). */
  databaseTimedOut = false;

  toServerTiming(): string {
    const round = (n: number) => Math.round(n * 100) / 100;
    return `db;dur=${round(this.durationMs)};desc="dynamodb calls=${this.calls} rcu=${round(this.readCapacity)} wcu=${round(this.writeCapacity)}"`;
  }
}

/** Receives every DynamoDB call of one client; the app's metrics register one. */
export type DynamoCallObserver = (call: DynamoCall) => void;

const usageStorage = new AsyncLocalStorage<DynamoUsage>();
/** The usage record of each request, so that the access log can read it once the response is sent. */
const usageByRequest = new WeakMap<object, DynamoUsage>();

/** Runs `fn` with a fresh usage record that every DynamoDB call inside it adds to. */
export const runWithUsage = <T>(usage: DynamoUsage, fn: () => T): T => usageStorage.run(usage, fn);

/** Remembers the usage record of an HTTP request (see `usageOf`). */
export const attachUsage = (request: object, usage: DynamoUsage): void => void usageByRequest.set(request, usage);

/** The DynamoDB usage of an HTTP request, when the accounting middleware saw it. */
export const usageOf = (request: object): DynamoUsage | undefined => usageByRequest.get(request);

/** The record of the HTTP request being served, if any. */
export const currentUsage = (): DynamoUsage | undefined => usageStorage.getStore();

/** Reads: GetItem, Query, Scan, BatchGetItem, TransactGetItems. */
const isRead = (command: string): boolean => /^(Get|Query|Scan|BatchGet|TransactGet)/.test(command);
/** Commands that accept ReturnConsumedCapacity: item reads and writes, not table management. */
const reportsCapacity = (command: string): boolean =>
  isRead(command) || /^(Put|Update|Delete)ItemCommand$|^(BatchWrite|TransactWrite)/.test(command);

interface CommandKind {
  /** The operation as metrics and `DynamoUsage.commands` name it (`GetItem`). */
  operation: string;
  read: boolean;
  reportsCapacity: boolean;
}
// What the tests above say of each command name, once per name (a few dozen at most), not per call.
const kinds = new Map<string, CommandKind>();
function kindOf(command: string): CommandKind {
  let kind = kinds.get(command);
  if (!kind) {
    kind = {
      operation: command.replace(/Command$/, ''),
      read: isRead(command),
      reportsCapacity: reportsCapacity(command),
    };
    kinds.set(command, kind);
  }
  return kind;
}

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

function addCapacity(usage: { readCapacity: number; writeCapacity: number }, read: boolean, consumed: unknown) {
  const entries = (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) as Capacity[];
  for (const entry of entries) {
    if (entry.ReadCapacityUnits !== undefined || entry.WriteCapacityUnits !== undefined) {
      usage.readCapacity += entry.ReadCapacityUnits ?? 0;
      usage.writeCapacity += entry.WriteCapacityUnits ?? 0;
    } else if (read) {
      usage.readCapacity += entry.CapacityUnits ?? 0;
    } else {
      usage.writeCapacity += entry.CapacityUnits ?? 0;
    }
  }
}

/** Test and diagnostics seam: sees every call (command name, input as the caller built it) before it is sent. */
export type DynamoCallHook = (command: string, input: Record<string, unknown>) => void;

/**
 * Accounts one DynamoDB call: asks for the consumed capacity of a data-plane call (sets
 * `ReturnConsumedCapacity` on `input` unless the caller chose), runs it, and adds the call, its
 * time and its capacity to the current request's usage (AsyncLocalStorage) and to the observer
 * (the app's metrics). The SDK path runs it as a middleware, the lean transport around its `send`.
 */
export async function accountCall<T>(
  command: string,
  input: Record<string, unknown>,
  observer: DynamoCallObserver | undefined,
  run: () => Promise<T>,
  consumedOf: (result: T) => unknown,
): Promise<T> {
  const kind = kindOf(command);
  if (kind.reportsCapacity && input.ReturnConsumedCapacity === undefined) {
    input.ReturnConsumedCapacity = 'TOTAL';
  }
  const usage = usageStorage.getStore();
  const call = { readCapacity: 0, writeCapacity: 0, ok: false };
  const started = performance.now();
  try {
    const result = await run();
    addCapacity(call, kind.read, consumedOf(result));
    call.ok = true;
    return result;
  } finally {
    const elapsed = performance.now() - started;
    const operation = kind.operation;
    if (usage) {
      usage.calls++;
      usage.durationMs += elapsed;
      usage.readCapacity += call.readCapacity;
      usage.writeCapacity += call.writeCapacity;
      usage.commands.push(operation);
    }
    observer?.({ operation, durationMs: elapsed, ...call });
  }
}

/**
 * Client middleware of the SDK path: `accountCall` on every call of the shared client (and of
 * the SDK document client, which sends through its stack), then the client's hooks, so that no
 * repository has to care.
 */
export function installRequestAccounting(
  client: DynamoDBClient,
  observer?: DynamoCallObserver,
  hooks: readonly DynamoCallHook[] = [],
): void {
  client.middlewareStack.add(
    (next, context) => (args) => {
      const command = context.commandName ?? 'UnknownCommand';
      const input = args.input as Record<string, unknown>;
      return accountCall(
        command,
        input,
        observer,
        () => {
          for (const hook of hooks) hook(command, input);
          return next(args);
        },
        (result) => (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity,
      );
    },
    { step: 'initialize', name: 'requestAccountingMiddleware', override: true },
  );
}
