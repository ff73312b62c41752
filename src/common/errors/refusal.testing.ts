import { DomainError } from './domain-error.js';

/**
 * For unit specs (not built into dist/): what a call does, as `<status> <code>` for the domain
 * error it throws, or `allowed`. Any other error is rethrown, so a spec cannot mistake a crash
 * for a refusal.
 */
export async function refusalOf(call: () => unknown): Promise<string> {
  try {
    await call();
  } catch (error) {
    if (error instanceof DomainError) return `${error.status} ${error.code}`;
    throw error;
  }
  return 'allowed';
}
