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
