import { classifyMailError } from './mail-errors.js';

describe('classifyMailError (review 19b M2)', () => {
  const error = (fields: Record<string, unknown>) => Object.assign(new Error('failed'), fields);

  it('a mail server away or busy is transient: refused or cut connections, timeouts, SMTP 4xx, SES throttling or 5xx', () => {
    for (const code of ['ECONNREFUSED', 'ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'EDNS'])
      expect([code, classifyMailError(error({ code }))]).toEqual([code, 'transient']);
    expect(classifyMailError(error({ code: 'EENVELOPE', responseCode: 452 }))).toBe('transient');
    expect(classifyMailError(error({ responseCode: 421 }))).toBe('transient');
    expect(classifyMailError(error({ name: 'TooManyRequestsException' }))).toBe('transient');
    expect(classifyMailError(error({ name: 'InternalFailure', $metadata: { httpStatusCode: 503 } }))).toBe('transient');
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
