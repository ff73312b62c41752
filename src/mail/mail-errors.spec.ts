import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { classifyMailError } from './mail-errors.js';
import { SmtpMailer } from './smtp.mailer.js';

describe('classifyMailError (review 19b M2)', () => {
  const error = (fields: Record<string, unknown>) => Object.assign(new Error('failed'), fields);

  it('a mail server away or busy is transient: refused or cut connections, timeouts, SMTP 4xx, SES throttling or 5xx', () => {
    for (const code of ['ECONNREFUSED', 'ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'EDNS'])
      expect([code, classifyMailError(error({ code }))]).toEqual([code, 'transient']);
    expect(classifyMailError(error({ code: 'EENVELOPE', command: 'MAIL FROM', responseCode: 451 }))).toBe('transient');
    expect(classifyMailError(error({ code: 'EMESSAGE', command: 'DATA', responseCode: 452 }))).toBe('transient');
    // 421 closes the connection, whatever the command: the server, not the recipient.
    expect(classifyMailError(error({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 421 }))).toBe('transient');
    expect(classifyMailError(error({ responseCode: 421 }))).toBe('transient');
    expect(classifyMailError(error({ name: 'TooManyRequestsException' }))).toBe('transient');
    expect(classifyMailError(error({ name: 'InternalFailure', $metadata: { httpStatusCode: 503 } }))).toBe('transient');
  });

  it('a 4xx refusal of the recipient at RCPT TO is a deferral, not a server outage: it is about that address (reviews 20a M1, 20b M2)', () => {
    for (const responseCode of [450, 451, 452])
      expect(classifyMailError(error({ code: 'EENVELOPE', command: 'RCPT TO', responseCode }))).toBe('deferred');
    expect(classifyMailError(error({ code: 'EENVELOPE', command: 'RCPT TO', responseCode: 550 }))).toBe('permanent');
  });

  it('a refusal for good is permanent: SMTP 5xx (550 for a closed mailbox), SES MessageRejected', () => {
    expect(classifyMailError(error({ code: 'EENVELOPE', responseCode: 550 }))).toBe('permanent');
    expect(classifyMailError(error({ code: 'EMESSAGE', responseCode: 554 }))).toBe('permanent');
    expect(classifyMailError(error({ name: 'MessageRejected', $metadata: { httpStatusCode: 400 } }))).toBe('permanent');
  });

  it('anything else is unknown (retried a few times, then dead-lettered): refused credentials (even with their 535), a bug, a non-error', () => {
    expect(classifyMailError(error({ code: 'EAUTH', responseCode: 535 }))).toBe('unknown');
    expect(classifyMailError(new TypeError('x is undefined'))).toBe('unknown');
    expect(classifyMailError('down')).toBe('unknown');
  });
});

describe('classifyMailError on what nodemailer throws for a real SMTP relay (review 20a M1)', () => {
  let server: SMTPServer;
  let mailer: SmtpMailer;

  beforeAll(async () => {
    // A relay that checks recipients: `450 4.1.2` for a domain whose DNS fails, a sender it defers with 451.
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onMailFrom: (address, _session, callback) =>
        callback(
          address.address.startsWith('busy@')
            ? Object.assign(new Error('4.3.0 try later'), { responseCode: 451 })
            : undefined,
        ),
      onRcptTo: (address, _session, callback) =>
        callback(
          address.address.endsWith('@fail.test')
            ? Object.assign(new Error('4.1.2 Domain not found'), { responseCode: 450 })
            : undefined,
        ),
      onData: (stream, _session, callback) => {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    mailer?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const url = () => `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  const failureOf = async (from: string, to: string) => {
    mailer?.close();
    mailer = new SmtpMailer(url(), from);
    const message = { kind: 'password_changed', to, subject: 's', text: 't', html: '<p>t</p>' } as const;
    return mailer.send(message).then(
      () => 'sent',
      (error: unknown) => classifyMailError(error),
    );
  };

  it('a recipient the relay refuses with 450 at RCPT TO: deferred (retried for a shorter cap); a sender deferred with 451 at MAIL FROM: transient', async () => {
    expect(await failureOf('app@ok.test', 'mallory@fail.test')).toBe('deferred');
    expect(await failureOf('busy@ok.test', 'victim@ok.test')).toBe('transient');
    expect(await failureOf('app@ok.test', 'victim@ok.test')).toBe('sent');
  });
});
