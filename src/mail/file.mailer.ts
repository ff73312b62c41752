import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import type { Mailer, MailMessage } from './mailer.js';
import { systemClock } from '../common/clock/clock.js';

/**
 * The development transport: each mail becomes two files in `dir` (`.data/mail/` by default),
 * `<time>-<kind>-<id>.txt` (headers and the text part, so the link can be copied) and the same
 * name in `.html`. The log only names the file: it never shows the link or the token.
 */
export class FileMailer implements Mailer {
  private readonly logger = new Logger('Mailer');
  private readonly dir: string;

  constructor(
    dir: string,
    private readonly from: string,
  ) {
    this.dir = resolve(dir);
  }

  async send(message: MailMessage): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const sent = systemClock.now();
    const stamp = sent.toISOString().replace(/[:.]/g, '-');
    const base = join(this.dir, `${stamp}-${message.kind}-${randomBytes(3).toString('hex')}`);
    const headers = [
      `From: ${this.from}`,
      `To: ${message.to}`,
      `Subject: ${message.subject}`,
      `Date: ${sent.toUTCString()}`,
    ];
    await writeFile(`${base}.txt`, `${headers.join('\n')}\n\n${message.text}`, { mode: 0o600 });
    await writeFile(`${base}.html`, message.html, { mode: 0o600 });
    this.logger.log(`Mail "${message.subject}" to ${message.to} written to ${base}.txt`);
  }
}
