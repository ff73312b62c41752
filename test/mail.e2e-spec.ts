import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { StreamDeadLettersRepository } from '../src/stream/stream-dead-letters.repository.js';
import { SmtpInbox } from './helpers/smtp-inbox.js';
import { createTestApp, LogCapture, setUserAttributes, signUp, type TestApp } from './helpers/test-app.js';

const FRONT_END = 'https://app.example.test';
/**
 * One capture for the file's apps: mails are sent by the stream processor, outside any request,
 * and the app's `AppLogger` writes those lines through one root logger per process (the first app's stream).
 */
const logs = new LogCapture();

/** An app that sends its mail to `inbox` over SMTP. */
async function smtpApp(inbox: SmtpInbox, env: Record<string, string>, logLevel?: 'debug'): Promise<TestApp> {
  const smtpUrl = await inbox.start();
  return createTestApp(
    {
      MAIL_TRANSPORT: 'smtp',
      SMTP_URL: smtpUrl,
      MAIL_FROM: 'Publishing <no-reply@example.test>',
      PUBLIC_URL: FRONT_END,
      ...env,
    },
    { mail: 'configured', ...(logLevel ? { logLevel } : {}), logStream: logs },
  );
}

describe('Mail through a real SMTP server', () => {
  const inbox = new SmtpInbox();
  let t: TestApp;

  beforeAll(async () => {
    t = await smtpApp(inbox, {}, 'debug');
  });
  afterAll(async () => {
    await t.close();
    await inbox.stop();
  });

  it('sends a reset mail (text and HTML, from MAIL_FROM) whose link leads to a working reset', async () => {
    const user = await signUp(t);
    await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);

    await t.mailSent(); // the stream processor sends it
    const mail = await inbox.next(user.email, 'password_reset');
    expect(mail.header('From')).toBe('Publishing <no-reply@example.test>');
    expect(mail.header('To')).toBe(user.email);
    expect(mail.header('Subject')).toBe('Reset your password');
    expect(mail.raw).toMatch(/Content-Type: multipart\/alternative/i);
    expect(mail.raw).toMatch(/Content-Type: text\/plain/i);
    expect(mail.raw).toMatch(/Content-Type: text\/html/i);

    const link = /https:\/\/app\.example\.test\/reset-password\?token=[A-Za-z0-9_-]+/.exec(mail.decoded)?.[0];
    expect(link).toBeDefined();
    const token = new URL(link!).searchParams.get('token');
    await t.api
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token, newPassword: 'a-brand-new-password' })
      .expect(204);
    await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'a-brand-new-password' }).expect(200);

    // The security notice goes to the account's address, and says a reset (review 20b L6): whoever
    // used the link reads this mailbox, so it comes first.
    await t.mailSent();
    const notice = await inbox.next(user.email, 'password_changed');
    expect(notice.header('Subject')).toBe('Your password was reset');
    expect(notice.decoded).not.toMatch(/token=/);
    expect(notice.decoded).toContain('every device was signed out');
    expect(notice.decoded).toContain('secure the mailbox first');
    expect(notice.decoded).not.toContain('someone else knows your password');
    // "It wasn't me": the front end's "forgot password" page under PUBLIC_URL, in both parts.
    expect(notice.decoded).toContain('If you did not reset it yourself');
    expect(notice.decoded).toMatch(/https:\/\/app\.example\.test\/forgot-password\r?\n/);
    expect(notice.decoded).toContain(`<a href="${FRONT_END}/forgot-password">`);
    // Neither the link nor the token ever reaches the log.
    expect(logs.text).not.toContain(token!);
  });

  it('verifies the address with the mailed link, and tells the old address when the email changes', async () => {
    const user = await signUp(t);
    await t.mailSent();
    const verification = await inbox.next(user.email, 'email_verification');
    const link = /https:\/\/app\.example\.test\/verify-email\?token=[A-Za-z0-9_-]+/.exec(verification.decoded)?.[0];
    await t.api
      .post('/api/v1/auth/verify-email/confirm')
      .send({ token: new URL(link!).searchParams.get('token') })
      .expect(204);

    const newEmail = `moved-${user.email}`;
    await t.api
      .post('/api/v1/users/me/email')
      .set('authorization', user.bearer)
      .send({ email: newEmail, password: user.password })
      .expect(202);
    await t.mailSent();
    // The change waits for the new address (review 22a M3): its confirmation link, then the notice.
    const confirmation = await inbox.next(newEmail, 'email_change');
    expect(confirmation.header('Subject')).toBe('Confirm your new email address');
    const confirm = /https:\/\/app\.example\.test\/confirm-email-change\?token=[A-Za-z0-9_-]+/.exec(
      confirmation.decoded,
    )?.[0];
    await t.api
      .post('/api/v1/auth/email-change/confirm')
      .send({ token: new URL(confirm!).searchParams.get('token') })
      .expect(204);
    await t.mailSent();
    const notice = await inbox.next(user.email, 'email_changed');
    expect(notice.header('Subject')).toBe('Your account email was changed');
    expect(notice.decoded).toContain(newEmail);
    // The notice went to the old address only.
    expect(inbox.messages.filter((m) => m.to.includes(newEmail)).map((m) => m.header('X-Mail-Kind'))).toEqual([
      'email_change',
    ]);
  });

  it('also sends the notice on a password change from the account page', async () => {
    const user = await signUp(t);
    await t.api
      .post('/api/v1/auth/password')
      .set('authorization', user.bearer)
      .send({ currentPassword: user.password, newPassword: 'another-password-1' })
      .expect(204);
    await t.mailSent();
    const notice = await inbox.next(user.email, 'password_changed');
    expect(notice.to).toEqual([user.email]);
    // A change (the current password) is not a reset: someone knows the password, and a reset by mail fixes it.
    expect(notice.header('Subject')).toBe('Your password was changed');
    expect(notice.decoded).toContain('someone else knows your password');
  });

  it('tells the owner their account was deactivated (review 22a M1), and the reset it advises brings the verified account back', async () => {
    const user = await signUp(t);
    await setUserAttributes(t, user.userId, { emailVerified: true }); // only a verified one comes back (review 23 L-3)
    await t.api
      .delete('/api/v1/users/me')
      .set('authorization', user.bearer)
      .send({ password: user.password })
      .expect(204);
    await t.mailSent();
    const notice = await inbox.next(user.email, 'account_deactivated');
    expect(notice.to).toEqual([user.email]);
    expect(notice.header('Subject')).toBe('Your account was deactivated');
    expect(notice.decoded).toContain('reset your password to get it back');
    expect(notice.decoded).toContain(`<a href="${FRONT_END}/forgot-password">`);
    expect(notice.decoded).not.toMatch(/token=/);

    await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
    await t.mailSent();
    const reset = await inbox.next(user.email, 'password_reset');
    const link = /https:\/\/app\.example\.test\/reset-password\?token=[A-Za-z0-9_-]+/.exec(reset.decoded)?.[0];
    await t.api
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: new URL(link!).searchParams.get('token'), newPassword: 'back-again-1234' })
      .expect(204);
    await t.api.post('/api/v1/auth/login').send({ email: user.email, password: 'back-again-1234' }).expect(200);
  });
});

describe('A relay that defers one recipient at RCPT TO (reviews 20a M1, 20b M2; session 22)', () => {
  // Postfix's reject_unknown_recipient_domain: 450 for a domain whose DNS fails (its owner's doing),
  // for ever; greylisting: 450 for the first tries of an address (from when the test starts it:
  // a relay greylists a first-time sender, or one it forgot in a restart), then accepted.
  const greylisted = new Map<string, number>();
  const inbox = new SmtpInbox((address) => {
    if (address.endsWith('@fail.test')) return 450;
    const tries = greylisted.get(address);
    if (tries === undefined) return undefined;
    greylisted.set(address, tries + 1);
    return tries < 3 ? 450 : undefined;
  });
  let t: TestApp;

  beforeAll(async () => {
    t = await smtpApp(inbox, { STREAM_WORKER_MAX_ATTEMPTS: '2', STREAM_WORKER_DEFERRAL_MAX_SECONDS: '60' });
  });
  afterAll(async () => {
    await t.close();
    await inbox.stop();
  });

  const changePassword = (user: Awaited<ReturnType<typeof signUp>>) =>
    t.api
      .post('/api/v1/auth/password')
      .set('authorization', user.bearer)
      .send({ currentPassword: user.password, newPassword: 'another-password-1' })
      .expect(204);
  /** Drains the stream until it goes through, or `rounds` times (the worker backs off 200 ms, 400 ms, ...). */
  const drain = async (rounds = 20) => {
    for (let round = 0; round < rounds; round++) {
      try {
        await t.mailSent();
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
  };
  const tried = (address: string) => inbox.recipientsTried.filter((tried) => tried === address).length;

  it('sends a greylisted verification mail once the relay takes it, and its link works: retried past STREAM_WORKER_MAX_ATTEMPTS, not dead-lettered (session 22)', async () => {
    const email = `grey-${Date.now()}@grey.test`;
    greylisted.set(email, 0);
    await signUp(t, { email });
    await drain();
    const verification = await inbox.next(email, 'email_verification', 5_000);
    // 3 deferred tries (the attempts allowed are 2), then sent: one mail.
    expect(tried(email)).toBe(4);
    expect(inbox.messages.filter((m) => m.to.includes(email))).toHaveLength(1);
    const link = /https:\/\/app\.example\.test\/verify-email\?token=[A-Za-z0-9_-]+/.exec(verification.decoded)?.[0];
    await t.api
      .post('/api/v1/auth/verify-email/confirm')
      .send({ token: new URL(link!).searchParams.get('token') })
      .expect(204);
    expect(await t.app.get(StreamDeadLettersRepository).count()).toBe(0);
  });

  it('sends a greylisted notice once the relay takes it: retried past STREAM_WORKER_MAX_ATTEMPTS, not dead-lettered (review 20b M2)', async () => {
    const grey = await signUp(t, { email: `grey-notice-${Date.now()}@grey.test` });
    await drain(); // its verification mail, before the relay greylists the address
    greylisted.set(grey.email, 0);
    await changePassword(grey);
    await drain();
    expect((await inbox.next(grey.email, 'password_changed', 5_000)).to).toEqual([grey.email]);
    // The verification, then 3 deferred tries of the notice (the attempts allowed are 2), then sent.
    expect(tried(grey.email)).toBe(5);
    expect(await t.app.get(StreamDeadLettersRepository).count()).toBe(0);
  });

  it("dead-letters a recipient deferred for good after STREAM_WORKER_DEFERRAL_MAX_SECONDS, and the records behind it go on (another user's mail)", async () => {
    const mallory = await signUp(t, { email: `mallory-${Date.now()}@fail.test` });
    await changePassword(mallory);
    const victim = await signUp(t);
    await drain(6);
    // Still retried: past the 2 attempts an unknown failure gets, within the deferral's minute.
    expect(tried(mallory.email)).toBeGreaterThan(2);
    expect(await t.app.get(StreamDeadLettersRepository).count()).toBe(0);
    // Her verification mail's record, then her notice's: each held the shard for the deferral's minute.
    t.clock.advance(61_000);
    await drain(3);
    t.clock.advance(61_000);
    await drain();
    expect((await inbox.next(victim.email, 'email_verification', 5_000)).to).toEqual([victim.email]);
    expect(await t.app.get(StreamDeadLettersRepository).count()).toBe(2);
  });
});

describe('The development file transport', () => {
  let dir: string;
  let t: TestApp;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mail-'));
    t = await createTestApp(
      { MAIL_TRANSPORT: 'file', MAIL_DIR: dir },
      { mail: 'configured', logLevel: 'debug', logStream: logs },
    );
  });
  afterAll(async () => {
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each mail as a text and an HTML file, and logs only the file name', async () => {
    const user = await signUp(t);
    await t.mailSent();
    let files: string[] = [];
    for (let i = 0; i < 200 && files.length < 2; i++) {
      files = (await readdir(dir)).filter((f) => f.includes('email_verification'));
      if (files.length < 2) await new Promise((r) => setTimeout(r, 50));
    }
    const text = await readFile(
      join(
        dir,
        files.find((f) => f.endsWith('.txt'))!,
      ),
      'utf8',
    );
    expect(text).toContain(`To: ${user.email}`);
    const token = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(text)?.[1];
    expect(token).toBeDefined();
    expect(
      await readFile(
        join(
          dir,
          files.find((f) => f.endsWith('.html'))!,
        ),
        'utf8',
      ),
    ).toContain(`token=${token}`);
    expect(logs.text).toContain('written to');
    expect(logs.text).not.toContain(token!);
  });
});
