import type { SendEmailCommand } from '@aws-sdk/client-sesv2';
import { SesMailer, type SesSender } from './ses.mailer.js';
import { noticesOf } from './security-notices.js';
import { renderMail } from './templates.js';

describe('mail templates', () => {
  it('renders a link mail as text and HTML with the link in both, escaped in HTML', () => {
    const link = 'https://app.example.com/reset-password?token=abc_DEF-123&x=<y>';
    const mail = renderMail({ kind: 'password_reset', to: 'ada@example.com', link });
    expect(mail).toMatchObject({ kind: 'password_reset', to: 'ada@example.com', subject: 'Reset your password', link });
    expect(mail.text).toContain(`\n\n${link}\n\n`);
    expect(mail.html).toContain('href="https://app.example.com/reset-password?token=abc_DEF-123&amp;x=&lt;y&gt;"');
    expect(mail.html).not.toContain('<y>');
  });

  it('renders notices without any link', () => {
    const changed = renderMail({ kind: 'email_changed', to: 'old@example.com', newEmail: 'new@example.com' });
    expect(changed.text).toContain('changed to new@example.com');
    expect(changed.link).toBeUndefined();
    expect(renderMail({ kind: 'password_changed', to: 'a@example.com' }).html).not.toContain('href');
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
  const before = { email: 'old@example.com', passwordGeneration: 1, version: 4, loginCount: 2 };

  it('a sign-in, a rename or a role change: none', () => {
    expect(noticesOf(before, { ...before, version: 5, loginCount: 3, username: 'new' })).toEqual([]);
  });

  it('a password generation that rose (an account that never had one counts as 0): password_changed to the address', () => {
    expect(noticesOf(before, { ...before, passwordGeneration: 2, version: 5 })).toEqual([
      { marker: 'password_changed#2', mail: { kind: 'password_changed', to: 'old@example.com' } },
    ]);
    expect(
      noticesOf({ email: 'a@example.com', version: 1 }, { email: 'a@example.com', passwordGeneration: 1, version: 2 }),
    ).toEqual([{ marker: 'password_changed#1', mail: { kind: 'password_changed', to: 'a@example.com' } }]);
  });

  it('a new email: email_changed to the old address, naming the new one', () => {
    expect(noticesOf(before, { ...before, email: 'new@example.com', version: 5 })).toEqual([
      {
        marker: 'email_changed#5',
        mail: { kind: 'email_changed', to: 'old@example.com', newEmail: 'new@example.com' },
      },
    ]);
  });

  it('an insert or a removal: none (no before or no after)', () => {
    expect(noticesOf(undefined, before)).toEqual([]);
    expect(noticesOf(before, undefined)).toEqual([]);
  });
});
