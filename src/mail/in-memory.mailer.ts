import type { MailKind, Mailer, MailMessage } from './mailer.js';

/** Keeps messages in memory: pass one to `createApp` in tests and read `outbox`. */
export class InMemoryMailer implements Mailer {
  readonly outbox: MailMessage[] = [];

  send(message: MailMessage): Promise<void> {
    this.outbox.push(message);
    return Promise.resolve();
  }

  /** The newest message of a kind to an address. */
  last(to: string, kind: MailKind): MailMessage | undefined {
    return [...this.outbox].reverse().find((m) => m.to === to && m.kind === kind);
  }

  /** The `token` query parameter of the newest message's link. */
  tokenFor(to: string, kind: MailKind): string | undefined {
    const link = this.last(to, kind)?.link;
    return link ? (new URL(link).searchParams.get('token') ?? undefined) : undefined;
  }
}
