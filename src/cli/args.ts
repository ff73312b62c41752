import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A wrong command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(`${message}\nusage: ${usage}`);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Strict option parsing (unknown options and stray arguments are errors), with positionals when asked. */
export function parseCommandLine<T extends Options>(
  argv: string[],
  options: T,
  usage: string,
  allowPositionals = false,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals });
    return { values: values, positionals };
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

/** An integer option within bounds, or its default. */
export function intOption(
  value: string | boolean | undefined,
  name: string,
  fallback: number | undefined,
  min: number,
  max: number,
  usage: string,
): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}`, usage);
  return Number(value);
}
