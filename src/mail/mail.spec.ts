import type { SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { DeleteCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { SettableClock } from '../common/clock/clock.js';
import { SequentialIds } from '../common/ids.js';
import { epochSeconds } from '../dynamo/expressions.js';
import { DEAD_LETTER_TTL_SECONDS } from '../dynamo/replay-window.js';
import { AppMetrics } from '../metrics/app-metrics.js';
import { InMemoryMailer } from './in-memory.mailer.js';
import { NoticesSentRepository } from './notices-sent.repository.js';
import { SesMailer, type SesSender } from './ses.mailer.js';
import { isDeferral } from '../common/errors/transient.js';
import { NoticeNotSent, noticesOf, SecurityNotices } from './security-notices.js';
import { MarkerStore } from './notices-sent.testing.js';
import { renderMail } from './templates.js';

const CONFIG = { publicUrl: 'https://blog.example' };

describe('mail templates', () => {
  it('renders a link mail as text and HTML with the link in both, escaped in HTML', () => {
    const link = 'https://app.example.com/reset-password?token=abc_DEF-123&x=<y>';
    const mail = renderMail({ kind: 'password_reset', to: 'ada@example.com', link });
    expect(mail).toMatchObject({ kind: 'password_reset', to: 'ada@example.com', subject: 'Reset your password', link });
    expect(mail.text).toContain(`\n\n${link}\n\n`);
    expect(mail.html).toContain('href="https://app.example.com/reset-password?token=abc_DEF-123&amp;x=&lt;y&gt;"');
    expect(mail.html).not.toContain('<y>');
  });

  it("renders an email change's notice with its undo link, in the text and as the HTML button", () => {
    const link = 'https://app.example.com/revert-email-change?token=abc';
    const mail = renderMail({ kind: 'email_changed', to: 'old@example.com', newEmail: 'new@example.com', link });
    expect(mail.link).toBe(link);
    expect(mail.text).toContain('changed to new@example.com');
    expect(mail.text).toContain(`\n\n${link}\n\n`);
    expect(mail.html).toContain('This was not me: undo the change');
  });

  it("renders an email change's notice whose link expired before it went out: no link, and why", () => {
    const mail = renderMail({
      kind: 'email_changed',
      to: 'old@example.com',
      newEmail: 'new@example.com',
      linkExpired: true,
    });
    expect(mail.link).toBeUndefined();
    expect(mail.text).toContain('changed to new@example.com');
    expect(mail.text).toContain('has expired, so it is not included');
    expect(mail.text).toContain('contact support at once');
    expect(mail.text).not.toContain('reset your password');
    expect(mail.html).not.toContain('href');
  });

  it('renders the notice to a never-verified old address without the new address (review 22a L7)', () => {
    const mail = renderMail({ kind: 'email_changed', to: 'old@example.com' });
    expect(mail.text).toContain('which was never confirmed for it, was just moved to another email address');
    expect(mail.text).toContain('If you never registered it, you can ignore this message.');
    expect(mail.text).toContain('contact support at once');
    expect(mail.text).not.toContain('@');
    expect(mail.html).not.toContain('@');
    expect(mail.link).toBeUndefined();
  });

  it('renders notices without any link', () => {
    const changed = renderMail({ kind: 'email_changed', to: 'old@example.com', newEmail: 'new@example.com' });
    expect(changed.text).toContain('changed to new@example.com');
    expect(changed.link).toBeUndefined();
    // Sent to the address the account left: a reset asked for with it reaches nobody, so none is advised.
    expect(changed.text).toContain('contact support at once: the account no longer uses this address');
    expect(changed.text).not.toContain('reset your password');
    expect(changed.html).not.toContain('href');
  });

  it('the password_changed notice says how to recover: the "forgot password" page, with no token, in text and HTML', () => {
    const recoverUrl = 'https://app.example.com/forgot-password';
    const mail = renderMail({ kind: 'password_changed', to: 'a@example.com', cause: 'change', recoverUrl });
    expect(mail.subject).toBe('Your password was changed');
    expect(mail.text).toContain('your other devices were signed out');
    expect(mail.text).toContain(`If this was not you, someone else knows your password`);
    expect(mail.text.trimEnd().endsWith(`\n${recoverUrl}`)).toBe(true);
    expect(mail.html).toContain(`<a href="${recoverUrl}">${recoverUrl}</a>`);
    // Not a token link: nothing for a transport or a test to treat as one.
    expect(mail.link).toBeUndefined();
  });

  it('the password_changed notice after a reset (review 20b L6): every device signed out; secure the mailbox first, then reset', () => {
    const recoverUrl = 'https://app.example.com/forgot-password';
    const mail = renderMail({ kind: 'password_changed', to: 'a@example.com', cause: 'reset', recoverUrl });
    expect(mail.subject).toBe('Your password was reset');
    expect(mail.text).toContain('just reset, and every device was signed out');
    expect(mail.text).not.toContain('other devices');
    // The reset link came to this mailbox: whoever used it reads it, and would get the next link too.
    expect(mail.text).not.toContain('someone else knows your password');
    expect(mail.text).toContain('someone who can read this mailbox may have: secure the mailbox first');
    expect(mail.text.indexOf('secure the mailbox first')).toBeLessThan(mail.text.indexOf('Forgot password'));
    expect(mail.text.trimEnd().endsWith(`\n${recoverUrl}`)).toBe(true);
    expect(mail.html).toContain(`<a href="${recoverUrl}">${recoverUrl}</a>`);
    expect(mail.link).toBeUndefined();
  });

  it("the password_changed notice after the admin bootstrap's takeover: an administrator set the password, no reset wording, no reset advice", () => {
    const recoverUrl = 'https://app.example.com/forgot-password';
    const mail = renderMail({ kind: 'password_changed', to: 'root@example.com', cause: 'takeover', recoverUrl });
    expect(mail.subject).toBe('An administrator set a new password for your account');
    expect(mail.text).toContain('An administrator set a new password for your account and took it over');
    expect(mail.text).toContain('every device was signed out');
    expect(mail.text).toContain('sign in with the administrator password you configured');
    // Nobody reset anything, and a reset by mail is no way out: the operator chose this address.
    expect(`${mail.subject}${mail.text}`).not.toMatch(/reset/i);
    expect(mail.text).not.toContain('someone else knows your password');
    expect(mail.text).not.toContain(recoverUrl);
    expect(mail.html).toContain('<p>If you run the service, this was expected');
    expect(mail.link).toBeUndefined();
  });

  it('the email_change_undone notice tells the restored address what the revert did and how to sign in again, naming no other address', () => {
    const recoverUrl = 'https://app.example.com/forgot-password';
    const undone = renderMail({
      kind: 'email_change_undone',
      to: 'ada@example.com',
      passwordDisabled: true,
      recoverUrl,
    });
    expect(undone).toMatchObject({
      kind: 'email_change_undone',
      subject: 'The change of your account email was undone',
    });
    expect(undone.text).toContain('the password was disabled');
    expect(undone.text).toContain('If you did not use the link yourself');
    expect(undone.text).toContain(`\n${recoverUrl}\n`);
    expect(undone.html).toContain(`href="${recoverUrl}"`);
    expect(undone.link).toBeUndefined();
    expect(`${undone.text}${undone.html}`.match(/[\w.+-]+@[\w.-]+/g)).toBeNull();
    const erasing = renderMail({
      kind: 'email_change_undone',
      to: 'ada@example.com',
      passwordDisabled: false,
      recoverUrl,
    });
    expect(erasing.text).toContain('The password was kept');
    expect(erasing.text).not.toContain('disabled');
  });

  it('the email_moved_back notice tells the address a revert left (review 20b L5): no link, no address, contact support', () => {
    const moved = renderMail({ kind: 'email_moved_back', to: 'left@example.com' });
    expect(moved).toMatchObject({ kind: 'email_moved_back', subject: 'Your account email was moved back' });
    expect(moved.text).toContain('moved back to another address by the undo link mailed there');
    expect(moved.text).toContain('If that was not expected, contact support');
    // It can undo nothing: no link, no page, and it names no address (its own included).
    expect(moved.link).toBeUndefined();
    expect(moved.html).not.toContain('href');
    expect(`${moved.text}${moved.html}`.match(/[\w.+-]+@[\w.-]+/g)).toBeNull();
    expect(moved.text).not.toMatch(/https?:/);
  });
});

describe('the account_deactivated notice', () => {
  it('says the account was deactivated and that a reset by mail gets it back: the "forgot password" page, no token', () => {
    const recoverUrl = 'https://blog.example/forgot-password';
    const mail = renderMail({ kind: 'account_deactivated', to: 'ada@example.com', recoverUrl });
    expect(mail).toMatchObject({
      kind: 'account_deactivated',
      to: 'ada@example.com',
      subject: 'Your account was deactivated',
    });
    expect(mail.text).toContain('Your account was just deactivated');
    expect(mail.text).toContain('If it was not, someone else used your account: reset your password to get it back');
    expect(mail.text).toContain(recoverUrl);
    expect(mail.html).toContain(`href="${recoverUrl}"`);
    expect(mail.link).toBeUndefined();
  });
});

describe('SesMailer', () => {
  it('sends one SendEmail (API v2) with the sender, the recipient, text and HTML', async () => {
    const sent: SendEmailCommand[] = [];
    const client: SesSender = {
      send: (command: SendEmailCommand) => (sent.push(command), Promise.resolve({})),
    } as never;
    const mail = renderMail({
      kind: 'email_verification',
      to: 'ada@example.com',
      link: 'https://a.example/verify-email?token=t',
    });
    await new SesMailer(client, 'Publishing <no-reply@example.com>').send(mail);
    expect(sent).toHaveLength(1);
    expect(sent[0].input).toEqual({
      FromEmailAddress: 'Publishing <no-reply@example.com>',
      Destination: { ToAddresses: ['ada@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: 'Confirm your email address', Charset: 'UTF-8' },
          Body: { Text: { Data: mail.text, Charset: 'UTF-8' }, Html: { Data: mail.html, Charset: 'UTF-8' } },
        },
      },
      EmailTags: [{ Name: 'kind', Value: 'email_verification' }],
    });
  });
});

describe('the security notices a change of the user item calls for', () => {
  const before = { email: 'old@example.com', emailVerified: true, passwordGeneration: 1, version: 4, loginCount: 2 };

  it('a sign-in, a rename or a role change: none', () => {
    expect(noticesOf(before, { ...before, version: 5, loginCount: 3, username: 'new' })).toEqual([]);
  });

  it('a password generation that rose alone (a change; an account that never had one counts as 0): password_changed to the address, not a reset', () => {
    expect(noticesOf(before, { ...before, passwordGeneration: 2, version: 5 })).toEqual([
      { marker: 'password_changed#2', mail: { kind: 'password_changed', to: 'old@example.com', cause: 'change' } },
    ]);
    expect(
      noticesOf({ email: 'a@example.com', version: 1 }, { email: 'a@example.com', passwordGeneration: 1, version: 2 }),
    ).toEqual([
      { marker: 'password_changed#1', mail: { kind: 'password_changed', to: 'a@example.com', cause: 'change' } },
    ]);
    // A change leaves the reset generation as it was.
    expect(
      noticesOf(
        { ...before, resetGeneration: 3 },
        { ...before, passwordGeneration: 2, resetGeneration: 3, version: 5 },
      ),
    ).toEqual([
      { marker: 'password_changed#2', mail: { kind: 'password_changed', to: 'old@example.com', cause: 'change' } },
    ]);
  });

  it('a password generation that rose with the reset generation (a reset, the admin takeover; absent counts as 0): password_changed as a reset (review 20b L6)', () => {
    expect(noticesOf(before, { ...before, passwordGeneration: 2, resetGeneration: 1, version: 5 })).toEqual([
      { marker: 'password_changed#2', mail: { kind: 'password_changed', to: 'old@example.com', cause: 'reset' } },
    ]);
    expect(
      noticesOf(
        { ...before, resetGeneration: 3 },
        { ...before, passwordGeneration: 2, resetGeneration: 4, version: 5 },
      ),
    ).toEqual([
      { marker: 'password_changed#2', mail: { kind: 'password_changed', to: 'old@example.com', cause: 'reset' } },
    ]);
  });

  it('a password generation that rose with the reset and takeover generations (the admin bootstrap; absent counts as 0): password_changed as a takeover', () => {
    const takenOver = { ...before, passwordGeneration: 2, resetGeneration: 1, takeoverGeneration: 1, version: 5 };
    expect(noticesOf(before, takenOver)).toEqual([
      { marker: 'password_changed#2', mail: { kind: 'password_changed', to: 'old@example.com', cause: 'takeover' } },
    ]);
    // A later reset of that account is a reset again: the takeover generation stayed.
    expect(noticesOf(takenOver, { ...takenOver, passwordGeneration: 3, resetGeneration: 2, version: 6 })).toEqual([
      { marker: 'password_changed#3', mail: { kind: 'password_changed', to: 'old@example.com', cause: 'reset' } },
    ]);
  });

  it('a new email: email_changed to the old address, naming the new one', () => {
    expect(noticesOf(before, { ...before, email: 'new@example.com', version: 5 })).toEqual([
      {
        marker: 'email_changed#5',
        mail: { kind: 'email_changed', to: 'old@example.com', newEmail: 'new@example.com' },
      },
    ]);
  });

  it('a new email away from a never-verified address: email_changed naming no address, at most once a day to it (review 22a L7)', () => {
    const unverified = { ...before, emailVerified: false };
    expect(noticesOf(unverified, { ...unverified, email: 'new@example.com', version: 5 })).toEqual([
      {
        marker: 'email_changed#5',
        mail: { kind: 'email_changed', to: 'old@example.com' },
        oncePerDayTo: 'old@example.com',
      },
    ]);
  });

  it("an email change that reserved the old address: the notice asks for the undo link bound to the change's generation", () => {
    const reverts = [
      { generation: 2, email: 'older@example.com', expiresAt: '2026-11-28T00:00:00.000Z' },
      { generation: 3, email: 'old@example.com', expiresAt: '2026-11-30T00:00:00.000Z' },
    ];
    const after = { ...before, email: 'new@example.com', version: 5, emailGeneration: 3, emailReverts: reverts };
    expect(noticesOf({ ...before, emailGeneration: 2 }, after, 'u1')).toEqual([
      {
        marker: 'email_changed#5',
        mail: { kind: 'email_changed', to: 'old@example.com', newEmail: 'new@example.com' },
        revert: { userId: 'u1', email: 'old@example.com', emailGeneration: 3, expiresAt: '2026-11-30T00:00:00.000Z' },
      },
    ]);
  });

  it('a revert (its undo link used): email_change_undone (not password_changed) to the restored address; to the address it leaves, email_moved_back (no link), not email_changed', () => {
    const after = {
      ...before,
      email: 'restored@example.com',
      passwordGeneration: 2,
      resetGeneration: 1,
      version: 5,
      emailRevertedAt: '2026-11-27T09:00:00.000Z',
    };
    const movedBack = { marker: 'email_moved_back#5', mail: { kind: 'email_moved_back', to: 'old@example.com' } };
    expect(noticesOf(before, after)).toEqual([
      {
        marker: 'email_change_undone#5',
        mail: { kind: 'email_change_undone', to: 'restored@example.com', passwordDisabled: true },
      },
      movedBack,
    ]);
    // An account whose erasure is pending keeps its password: the notice says so.
    expect(noticesOf(before, { ...after, passwordGeneration: 1 })).toEqual([
      {
        marker: 'email_change_undone#5',
        mail: { kind: 'email_change_undone', to: 'restored@example.com', passwordDisabled: false },
      },
      movedBack,
    ]);
  });

  it("the owner's deactivation (review 22a M1): account_deactivated to the account's address, once per move to inactive; an admin's: none", () => {
    const active = { ...before, status: 'active' };
    expect(noticesOf(active, { ...active, status: 'inactive', deactivatedBy: 'owner', version: 5 })).toEqual([
      { marker: 'account_deactivated#5', mail: { kind: 'account_deactivated', to: 'old@example.com' } },
    ]);
    const byOwner = { ...active, status: 'inactive', deactivatedBy: 'owner', version: 5 };
    // Already inactive (a later write of it), or an admin's decision (now or replacing the owner's): none.
    expect(noticesOf(byOwner, { ...byOwner, loginCount: 3, version: 6 })).toEqual([]);
    expect(noticesOf(active, { ...active, status: 'inactive', deactivatedBy: 'admin', version: 5 })).toEqual([]);
    expect(noticesOf(byOwner, { ...byOwner, deactivatedBy: 'admin', version: 6 })).toEqual([]);
    expect(noticesOf(active, { ...active, status: 'suspended', version: 5 })).toEqual([]);
  });

  it('an insert or a removal: none (no before or no after)', () => {
    expect(noticesOf(undefined, before)).toEqual([]);
    expect(noticesOf(before, undefined)).toEqual([]);
  });
});

// A dead-lettered record of the user item can be replayed (`db:stream-replay`) until its dead letter
// expires, 30 days on: the notice's marker must still be there then, or the replay mails it again.
describe('a security notice replayed from a dead letter', () => {
  /**
   * A table double for the marker's claim (its conditional Put and the check of the user item, in
   * one transaction), where an item past its `ttl` is gone (as TTL deletes it). `users` holds the
   * user items that exist.
   */
  function markerTable(clock: SettableClock, users = new Set(['user'])) {
    const ttls = new Map<string, number>();
    const sentAt = new Map<string, string>();
    const send = (command: TransactWriteCommand | DeleteCommand | PutCommand) => {
      if ('Item' in command.input) {
        // An address's claim (review 22a L7): free, or its `sentAt` not after `:since`.
        const item = command.input.Item ?? {};
        const key = `${String(item.PK)}|${String(item.SK)}`;
        const held = sentAt.get(key);
        if (held !== undefined && held > String(command.input.ExpressionAttributeValues?.[':since'])) {
          return Promise.reject(
            Object.assign(new Error('The conditional request failed'), { name: 'ConditionalCheckFailedException' }),
          );
        }
        sentAt.set(key, String(item.sentAt));
        return Promise.resolve({});
      }
      if ('Key' in command.input) {
        sentAt.delete(`${String(command.input.Key?.PK)}|${String(command.input.Key?.SK)}`);
        ttls.delete(`${String(command.input.Key?.PK)}|${String(command.input.Key?.SK)}`); // a release
        return Promise.resolve({});
      }
      const [{ Put: put }, { ConditionCheck: check }] = command.input.TransactItems ?? [];
      const item = put?.Item ?? {};
      const key = `${String(item.PK)}|${String(item.SK)}`;
      const ttl = ttls.get(key);
      const claimed = ttl !== undefined && ttl > epochSeconds(clock.now());
      const userGone =
        check !== undefined && (check.Key?.SK !== 'USER' || !users.has(String(check.Key?.PK).replace('USER#', '')));
      if (claimed || userGone) {
        const reason = (failed: boolean) => (failed ? { Code: 'ConditionalCheckFailed' } : { Code: 'None' });
        return Promise.reject(
          Object.assign(new Error('Transaction cancelled'), {
            name: 'TransactionCanceledException',
            CancellationReasons: [reason(claimed), reason(userGone)],
          }),
        );
      }
      ttls.set(key, Number(item.ttl));
      return Promise.resolve({});
    };
    return { send, ttls };
  }

  /** SecurityNotices on a fixed clock, over the marker table double, mailing to memory. */
  function noticesOnMarkerTable(users?: Set<string>) {
    const clock = new SettableClock().set('2026-11-27T08:00:00Z');
    const mailer = new InMemoryMailer();
    const metrics = new AppMetrics();
    const notices = new SecurityNotices(
      mailer,
      new NoticesSentRepository(markerTable(clock, users) as never, 't', new SequentialIds('claim')),
      clock,
      metrics,
      CONFIG,
    );
    const deliveries = async () =>
      (await metrics.mailDeliveries().get()).values.map(
        ({ labels, value }) => `${labels.kind}:${labels.outcome}:${value}`,
      );
    return { clock, mailer, notices, deliveries };
  }

  it('a never-verified address gets one email_changed notice a day, whichever accounts leave it; the next one after a day (review 22a L7)', async () => {
    const { clock, mailer, notices, deliveries } = noticesOnMarkerTable(new Set(['first', 'second']));
    const left = (version: number) => ({ email: 'stranger@example.com', emailVerified: false, version });
    const moved = (to: string, version: number) => ({ email: to, emailVerified: true, version });
    expect(await notices.fromUserChange('first', left(4), moved('hop1@evil.example', 5))).toEqual(['email_changed']);
    clock.advance(23 * 3600 * 1000);
    // Another account registered the address since and moved away too: no second mail that day.
    expect(await notices.fromUserChange('second', left(1), moved('hop2@evil.example', 2))).toEqual([]);
    expect(await deliveries()).toEqual(['email_changed:sent:1', 'email_changed:skipped:1']);
    // Its own marker stays claimed: a replay of that record sends nothing either, even a day later.
    clock.advance(2 * 3600 * 1000);
    expect(await notices.fromUserChange('second', left(1), moved('hop2@evil.example', 2))).toEqual([]);
    // A day after the first, the next change away from it is told.
    expect(await notices.fromUserChange('second', left(3), moved('hop3@evil.example', 4))).toEqual(['email_changed']);
    expect(mailer.outbox.map((mail) => mail.to)).toEqual(['stranger@example.com', 'stranger@example.com']);
    for (const mail of mailer.outbox) expect(mail.text).not.toMatch(/hop\d@evil/);
  });

  it('a never-verified address whose notice failed (mail server away) gets it on the retry: the address claim was given back', async () => {
    const { mailer, notices } = noticesOnMarkerTable();
    const before = { email: 'stranger@example.com', emailVerified: false, version: 4 };
    const after = { email: 'new@example.com', emailVerified: true, version: 5 };
    const send = mailer.send.bind(mailer);
    mailer.send = () => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    await expect(notices.fromUserChange('user', before, after)).rejects.toThrow(NoticeNotSent);
    mailer.send = send;
    expect(await notices.fromUserChange('user', before, after)).toEqual(['email_changed']);
  });

  it("sends nothing more on the dead letter's last day: the marker outlives it", async () => {
    const { clock, mailer, notices } = noticesOnMarkerTable();
    const before = { email: 'ada@example.com', passwordGeneration: 1, version: 4 };
    const after = { ...before, passwordGeneration: 2, version: 5 };
    expect(await notices.fromUserChange('user', before, after)).toEqual(['password_changed']);
    // Its "it wasn't me" way out: the "forgot password" page under PUBLIC_URL.
    expect(mailer.outbox[0].text).toContain('https://blog.example/forgot-password');
    // The record failed after the mail (a later handler), was dead-lettered, and is replayed late.
    clock.advance(DEAD_LETTER_TTL_SECONDS * 1000 - 60_000);
    expect(await notices.fromUserChange('user', before, after)).toEqual([]);
    expect(mailer.outbox.map((mail) => mail.kind)).toEqual(['password_changed']);
  });

  it("the owner's deactivation is told once: a replay sends nothing more (review 22a M1)", async () => {
    const { clock, mailer, notices } = noticesOnMarkerTable();
    const before = { email: 'ada@example.com', status: 'active', version: 4 };
    const after = { ...before, status: 'inactive', deactivatedBy: 'owner', version: 5 };
    expect(await notices.fromUserChange('user', before, after)).toEqual(['account_deactivated']);
    expect(mailer.outbox[0]).toMatchObject({ kind: 'account_deactivated', to: 'ada@example.com' });
    expect(mailer.outbox[0].text).toContain('https://blog.example/forgot-password');
    clock.advance(24 * 3600 * 1000);
    expect(await notices.fromUserChange('user', before, after)).toEqual([]);
    expect(mailer.outbox).toHaveLength(1);
  });

  it('a revert tells both addresses once: a replay sends neither again (review 20b L5)', async () => {
    const { mailer, notices } = noticesOnMarkerTable();
    const before = { email: 'left@example.com', passwordGeneration: 1, version: 4 };
    const after = {
      email: 'ada@example.com',
      passwordGeneration: 2,
      resetGeneration: 1,
      version: 5,
      emailRevertedAt: '2026-11-27T08:00:00.000Z',
    };
    expect(await notices.fromUserChange('user', before, after)).toEqual(['email_change_undone', 'email_moved_back']);
    expect(await notices.fromUserChange('user', before, after)).toEqual([]);
    expect(mailer.outbox.map((mail) => [mail.kind, mail.to])).toEqual([
      ['email_change_undone', 'ada@example.com'],
      ['email_moved_back', 'left@example.com'],
    ]);
    expect(mailer.outbox[1].link).toBeUndefined();
    expect(mailer.outbox[1].text).not.toContain('ada@example.com');
  });

  it("an email change's notice mints its undo link once: a replay mints nothing; a failed mint sends nothing and is retried", async () => {
    const { mailer, notices } = noticesOnMarkerTable();
    const minted: unknown[] = [];
    const mint = (request: unknown) => (minted.push(request), Promise.resolve('https://a.example/revert?token=t'));
    const before = { email: 'ada@example.com', emailVerified: true, version: 4 };
    const reverts = [{ generation: 1, email: 'ada@example.com', expiresAt: '2026-12-04T08:00:00.000Z' }];
    // Confirmed from the new address (review 22a M3): verified there.
    const after = {
      email: 'new@example.com',
      emailVerified: true,
      version: 5,
      emailGeneration: 1,
      emailReverts: reverts,
    };
    expect(await notices.fromUserChange('user', before, after, mint)).toEqual(['email_changed']);
    expect(await notices.fromUserChange('user', before, after, mint)).toEqual([]);
    expect(minted).toEqual([
      { userId: 'user', email: 'ada@example.com', emailGeneration: 1, expiresAt: '2026-12-04T08:00:00.000Z' },
    ]);
    expect(mailer.outbox.map((mail) => mail.link)).toEqual(['https://a.example/revert?token=t']);

    // Review 18b L4: a notice without its link would lose the change's only undo link for good.
    const later = {
      ...after,
      email: 'newer@example.com',
      version: 6,
      emailGeneration: 2,
      emailReverts: [...reverts, { generation: 2, email: 'new@example.com', expiresAt: '2026-12-04T09:00:00.000Z' }],
    };
    const failing = () => Promise.reject(new Error('table down'));
    await expect(notices.fromUserChange('user', after, later, failing)).rejects.toThrow(NoticeNotSent);
    expect(mailer.outbox).toHaveLength(1);
    // The marker was given back: the record's retry sends the notice, with its link.
    expect(await notices.fromUserChange('user', after, later, mint)).toEqual(['email_changed']);
    expect(mailer.outbox.at(-1)).toMatchObject({ to: 'new@example.com', link: 'https://a.example/revert?token=t' });
  });

  it('a late notice whose link can no longer be used: not sent when its change was undone (counted as skipped); sent without the link, saying so, once it expired (session 20)', async () => {
    const { clock, mailer, notices, deliveries } = noticesOnMarkerTable();
    const before = { email: 'ada@example.com', emailVerified: true, version: 4 };
    const reverts = [{ generation: 1, email: 'ada@example.com', expiresAt: '2026-12-04T08:00:00.000Z' }];
    const after = { email: 'new@example.com', version: 5, emailGeneration: 1, emailReverts: reverts };
    const minted: unknown[] = [];
    // The mint's check of the reservation failed: the change was reverted (or undone) since.
    const gone = (request: unknown) => (minted.push(request), Promise.resolve(undefined));
    expect(await notices.fromUserChange('user', before, after, gone)).toEqual([]);
    expect(minted).toHaveLength(1);
    expect(mailer.outbox).toEqual([]);
    // Counted, where it was logged only: an operator sees notices that were due and did not go.
    expect(await deliveries()).toEqual(['email_changed:skipped:1']);

    // Past the link's expiry: nothing is minted, the notice says the link expired and carries none.
    const later = { ...after, version: 6 };
    clock.set('2026-12-04T08:00:00.000Z');
    expect(await notices.fromUserChange('user', before, later, gone)).toEqual(['email_changed']);
    expect(minted).toHaveLength(1);
    expect(mailer.outbox).toHaveLength(1);
    expect(mailer.outbox[0].link).toBeUndefined();
    expect(mailer.outbox[0].text).toContain('the link to undo the change from this address has expired');
    expect(mailer.outbox[0].text).toContain('new@example.com');
  });

  it("replayed after the user's erasure: no mail to the erased address, no marker in the erased partition", async () => {
    const clock = new SettableClock().set('2026-11-27T08:00:00Z');
    const mailer = new InMemoryMailer();
    const users = new Set(['user']);
    const table = markerTable(clock, users);
    const notices = new SecurityNotices(
      mailer,
      new NoticesSentRepository(table as never, 't', new SequentialIds('claim')),
      clock,
      new AppMetrics(),
      CONFIG,
    );
    const before = { email: 'ada@example.com', passwordGeneration: 1, version: 4 };
    // The record was dead-lettered before any notice went out; the user is erased, then it is replayed.
    users.delete('user');
    const after = { ...before, email: 'new@example.com', passwordGeneration: 2, version: 5 };
    expect(await notices.fromUserChange('user', before, after)).toEqual([]);
    expect(mailer.outbox).toEqual([]);
    expect(table.ttls.size).toBe(0);
  });
});

// Review 19b M2 and L1: what a failed notice does depends on the failure; the marker is given back
// only by the claim that made it.
describe('a security notice that fails', () => {
  const before = { email: 'ada@example.com', emailVerified: true, version: 4 };
  const reverts = [{ generation: 1, email: 'ada@example.com', expiresAt: '2026-12-04T08:00:00.000Z' }];
  const after = { email: 'new@example.com', version: 5, emailGeneration: 1, emailReverts: reverts };
  const mint = () => Promise.resolve('https://a.example/revert?token=t');
  const smtp = (fields: Record<string, unknown>) => Object.assign(new Error('smtp'), fields);

  function noticesWith(markers = new MarkerStore()) {
    const mailer = new InMemoryMailer();
    const metrics = new AppMetrics();
    const notices = new SecurityNotices(mailer, markers as never, new SettableClock(), metrics, CONFIG);
    const outcomes = async () =>
      (await metrics.mailDeliveries().get()).values.map(({ labels, value }) => `${labels.outcome}:${value}`);
    return { mailer, markers, notices, outcomes };
  }

  it('on a mail server away (connection refused) or busy (SMTP 4xx): the record fails as transient, the marker given back', async () => {
    for (const failure of [smtp({ code: 'ECONNREFUSED' }), smtp({ responseCode: 451 })]) {
      const { mailer, markers, notices } = noticesWith();
      mailer.send = () => Promise.reject(failure);
      const thrown = await notices.fromUserChange('user', before, after, mint).catch((error: unknown) => error);
      expect(thrown).toBeInstanceOf(NoticeNotSent);
      expect(thrown).toMatchObject({ transient: true, deferral: false });
      expect(markers.used.size).toBe(0);
    }
  });

  it('on a recipient the relay defers (SMTP 4xx at RCPT TO): transient and a deferral (a shorter cap: review 20b M2), the marker given back', async () => {
    const { mailer, markers, notices } = noticesWith();
    mailer.send = () => Promise.reject(smtp({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 450 }));
    const thrown = await notices.fromUserChange('user', before, after, mint).catch((error: unknown) => error);
    expect(thrown).toBeInstanceOf(NoticeNotSent);
    expect(thrown).toMatchObject({ transient: true, deferral: true });
    expect(isDeferral(thrown)).toBe(true);
    expect(markers.used.size).toBe(0);
  });

  it('on a refusal for good (SMTP 550): logged and counted as refused, the record does not fail, the marker stays so a replay sends nothing', async () => {
    const { mailer, markers, notices, outcomes } = noticesWith();
    let sends = 0;
    mailer.send = () => (sends++, Promise.reject(smtp({ code: 'EENVELOPE', responseCode: 550 })));
    expect(await notices.fromUserChange('user', before, after, mint)).toEqual([]);
    expect([...markers.used]).toEqual(['user/email_changed#5']);
    expect(await notices.fromUserChange('user', before, after, mint)).toEqual([]); // a replay
    expect(sends).toBe(1);
    expect(await outcomes()).toEqual(['refused:1']);
  });

  it('a mint that meets a throttled database is transient; one that fails otherwise is not', async () => {
    const throttled = () => Promise.reject(Object.assign(new Error('slow down'), { name: 'ThrottlingException' }));
    const broken = () => Promise.reject(new TypeError('bug'));
    const { notices } = noticesWith();
    await expect(notices.fromUserChange('user', before, after, throttled)).rejects.toMatchObject({ transient: true });
    await expect(notices.fromUserChange('user', before, after, broken)).rejects.toMatchObject({
      name: 'NoticeNotSent',
      transient: false,
    });
  });

  it('a give-back that fails loses that notice, logged and counted as lost, and the other notices are still tried (L1)', async () => {
    const markers = new MarkerStore();
    markers.release = () => Promise.reject(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    const { mailer, notices, outcomes } = noticesWith(markers);
    const send = mailer.send.bind(mailer);
    mailer.send = (mail) => (mail.kind === 'email_changed' ? Promise.reject(smtp({ code: 'ETIMEDOUT' })) : send(mail));
    const both = { ...after, passwordGeneration: 2 };
    // Not retried: the marker is still claimed, a retry would skip it.
    expect(await notices.fromUserChange('user', { ...before, passwordGeneration: 1 }, both, mint)).toEqual([
      'password_changed',
    ]);
    expect(await outcomes()).toEqual(expect.arrayContaining(['failed:1', 'lost:1', 'sent:1']));
  });

  it("the give-back deletes only this attempt's claim: a marker claimed again since is left to its claimer (L1)", async () => {
    const markers = new MarkerStore();
    const claimed = await markers.claim('user', 'email_changed#5');
    expect(await markers.release('user', 'email_changed#5', 'another claim')).toBe(false);
    expect(markers.used.has('user/email_changed#5')).toBe(true);
    expect(await markers.release('user', 'email_changed#5', claimed!)).toBe(true);
  });

  it('NoticesSentRepository: the claim records its id, and the give-back is a Delete conditioned on it; a failed condition is false (L1)', async () => {
    const sent: { input: Record<string, unknown> }[] = [];
    let refuse = false;
    const db = {
      send: (command: { input: Record<string, unknown> }) => {
        sent.push(command);
        if (refuse) return Promise.reject(Object.assign(new Error('no'), { name: 'ConditionalCheckFailedException' }));
        return Promise.resolve({});
      },
    };
    const repository = new NoticesSentRepository(db as never, 't', new SequentialIds('claim'));
    const claim = await repository.claim('user', 'email_changed#5', new Date(0), new Date(1000));
    const put = (sent[0].input.TransactItems as { Put?: { Item: { claimId?: string } } }[])[0].Put!;
    expect(put.Item.claimId).toBe(claim);
    expect(await repository.release('user', 'email_changed#5', claim!)).toBe(true);
    expect(sent[1].input).toMatchObject({
      ConditionExpression: 'claimId = :mine',
      ExpressionAttributeValues: { ':mine': claim },
    });
    refuse = true;
    expect(await repository.release('user', 'email_changed#5', claim!)).toBe(false);
  });
});
