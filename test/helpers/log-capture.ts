import { setTestLogging } from './test-app.js';

/** What no log line may contain: tokens, links carrying one, password hashes, credentials. */
const SECRET_PATTERNS: [string, RegExp][] = [
  ['a JWT', /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/],
  ['a refresh token', /[A-Za-z0-9_-]{21}\.[A-Za-z0-9_-]{21}\.(\d+\.)?[A-Za-z0-9_-]{43}/],
  ['a link token', /[?&]token=/i],
  ['a 256-bit token', /(^|[^A-Za-z0-9_-])[A-Za-z0-9_-]{43}($|[^A-Za-z0-9_-])/],
  ['a bcrypt hash', /\$2[aby]?\$\d{2}\$/],
  ['an Authorization header', /bearer\s+[A-Za-z0-9]|"authorization":"(?!\[Redacted\])/i],
  ['a hex digest', /\b[0-9a-f]{64}\b/],
];

export interface LogCapture {
  /** Every line written so far (Nest Logger, console, anything on stdout/stderr). */
  readonly lines: string[];
  /** Passwords the suite used: none may appear in a log line either. */
  passwords: Set<string>;
  /** The lines that leak something, with what they leak. */
  leaks(): { line: string; leak: string }[];
}

/**
 * Captures every log line of the test file and fails the file (in `afterAll`) when one contains
 * a token, a link token, a password or a hash. The apps of the file log at `trace` (every level)
 * into the capture; the process streams and `console` are hooked too, so nothing written another
 * way escapes (stream output still reaches the terminal).
 */
export function captureLogs(passwords: string[] = []): LogCapture {
  const capture: LogCapture = {
    lines: [],
    passwords: new Set(passwords),
    leaks() {
      const found: { line: string; leak: string }[] = [];
      for (const line of this.lines) {
        for (const [leak, pattern] of SECRET_PATTERNS) if (pattern.test(line)) found.push({ line, leak });
        for (const password of this.passwords) if (line.includes(password)) found.push({ line, leak: 'a password' });
      }
      return found;
    },
  };
  const restore: (() => void)[] = [];
  const record = (chunk: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk);
    capture.lines.push(...text.split('\n').filter((line) => line.trim() !== ''));
  };

  beforeAll(() => {
    setTestLogging({ logLevel: 'trace', logStream: { write: (line: string) => record(line) } });
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = (chunk: unknown, ...rest: unknown[]) => {
        record(chunk);
        return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
      };
      restore.push(() => (stream.write = original));
    }
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as it was, never called here
      const original = console[method];
      console[method] = (...args: unknown[]) => {
        record(args.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg))).join(' '));
      };
      restore.push(() => (console[method] = original));
    }
  });

  afterAll(() => {
    for (const undo of restore.reverse()) undo();
    setTestLogging({});
    expect(capture.leaks()).toEqual([]);
  });

  return capture;
}
