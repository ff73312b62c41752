/**
 * A start-up failure a person must act on (database unreachable, port taken, Java missing):
 * `main.ts` and the scripts print its one-sentence message, without a stack trace or an SDK dump.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Errors whose message is for a person to read as it is: no stack trace needed. */
const READABLE_ERRORS = ['StartupError', 'ConfigError', 'EmbeddedDynamoError', 'MigrationsPendingError'];

/** Prints why a process could not start (the message alone when it is meant for a person) and exits 1. */
export function exitOnStartupFailure(error: unknown): never {
  if (error instanceof Error && READABLE_ERRORS.includes(error.name)) console.error(`\n${error.message}\n`);
  else console.error(error);
  process.exit(1);
}
