import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  /** Envelope recipients. */
  to: string[];
  /** The raw message as received. */
  raw: string;
  /** The message with quoted-printable soft breaks and escapes undone (good enough to read ASCII mail). */
  decoded: string;
  header(name: string): string | undefined;
}

const decodeQuotedPrintable = (raw: string): string =>
  raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));

/**
 * A real SMTP server on a loopback port (the `smtp-server` package): the app's SMTP transport
 * delivers to it over the wire, and a test waits for the message it expects.
 */
export class SmtpInbox {
  readonly messages: ReceivedMail[] = [];
  /** Every `RCPT TO` address the server was given, refused ones included. */
  readonly recipientsTried: string[] = [];

  /** `refuse`: the reply code to refuse a recipient with at `RCPT TO` (a relay checking recipients), if any. */
  constructor(private readonly refuse: (address: string) => number | undefined = () => undefined) {}

  private waiters: { match: (m: ReceivedMail) => boolean; resolve: (m: ReceivedMail) => void }[] = [];
  private readonly server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onRcptTo: (address, _session, callback) => {
      this.recipientsTried.push(address.address);
      const code = this.refuse(address.address);
      callback(
        code
          ? Object.assign(new Error(`${code === 450 ? '4.1.2 Domain not found' : 'refused'}`), { responseCode: code })
          : undefined,
      );
    },
    onData: (stream, session, callback) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headerBlock = raw.split(/\r?\n\r?\n/)[0] ?? '';
        const mail: ReceivedMail = {
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          decoded: decodeQuotedPrintable(raw),
          header: (name) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(headerBlock.replace(/\r?\n\s+/g, ' '))?.[1],
        };
        this.messages.push(mail);
        this.waiters = this.waiters.filter((w) => !(w.match(mail) && (w.resolve(mail), true)));
        callback();
      });
    },
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `smtp://127.0.0.1:${(this.server.server.address() as AddressInfo).port}`;
  }

  /** The first message (already received or still to come) to `to` with the given `X-Mail-Kind`. */
  next(to: string, kind: string, timeoutMs = 20_000): Promise<ReceivedMail> {
    const match = (m: ReceivedMail) => m.to.includes(to) && m.header('X-Mail-Kind') === kind;
    const found = this.messages.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${kind} mail to ${to} within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
