import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { StreamRecord } from '../src/dynamo/stream-record.js';
import type { MailMessage } from '../src/mail/mailer.js';
import { StreamProcessor } from '../src/stream/stream-processor.js';
import { streamRecords } from './helpers/stream.js';
import {
  createTestApp,
  dynamoCost,
  mailSentOnRetry,
  moveEmail,
  signUp,
  type SignedIn,
  type TestApp,
  verifyEmail,
} from './helpers/test-app.js';

const isMailRequest = (record: StreamRecord) => record.dynamodb?.Keys?.SK?.S?.startsWith('MAILREQ#') === true;
const tokenOf = (mail: MailMessage) => new URL(mail.link!).searchParams.get('token')!;

describe('Transactional mail sent by the stream processor (issue 17 item 5)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ PUBLIC_URL: 'https://front.example.test', ACTION_TOKEN_TTL_SECONDS: '600' });
  });
  afterAll(async () => {
    await t.close();
  });

  it('no token and no link reaches a table item or a stream record, through registration, verification and reset', async () => {
    const user = await signUp(t);
    await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
    await t.api.post('/api/v1/auth/verify-email/request').send({ email: user.email }).expect(202);
    expect(t.mailer.outbox.filter((m) => m.to === user.email)).toEqual([]); // nothing sent by a request
    await t.mailSent();
    const mails = t.mailer.outbox.filter((m) => m.to === user.email && m.link);
    expect(mails.map((m) => m.kind).sort()).toEqual(['email_verification', 'email_verification', 'password_reset']);
    const [verification] = mails.filter((m) => m.kind === 'email_verification');
    await t.api
      .post('/api/v1/auth/verify-email/confirm')
      .send({ token: tokenOf(verification) })
      .expect(204);
    const reset = mails.find((m) => m.kind === 'password_reset')!;
    await t.api
      .post('/api/v1/auth/password-reset/confirm')
      .send({ token: tokenOf(reset), newPassword: 'after-the-reset-1' })
      .expect(204);
    await t.mailSent();

    const items = JSON.stringify(await t.allItems());
    const records = await streamRecords(t);
    // What was read holds the mail requests and the minted tokens' hashes (the search is not empty)...
    const mine = records.filter((r) => r.dynamodb?.Keys?.PK?.S === `USER#${user.userId}`);
    expect(
      mine
        .filter(isMailRequest)
        .map((r) => r.eventName)
        .sort(),
    ).toEqual(['INSERT', 'INSERT', 'INSERT', 'MODIFY', 'MODIFY', 'MODIFY', 'REMOVE', 'REMOVE', 'REMOVE']);
    expect(items).toContain('"entity":"ActionToken"');
    // ...and no token, link or front-end page.
    const stream = JSON.stringify(records);
    for (const mail of mails) {
      for (const secret of [tokenOf(mail), mail.link!]) {
        expect(items).not.toContain(secret);
        expect(stream).not.toContain(secret);
      }
    }
    expect(items).not.toContain('front.example.test');
    expect(stream).not.toContain('front.example.test');
  });

  it('a replayed batch mints and sends nothing more: neither links nor security notices', async () => {
    const user = await signUp(t);
    await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
    await t.api
      .post('/api/v1/auth/password')
      .set('authorization', user.bearer)
      .send({ currentPassword: user.password, newPassword: 'changed-password-1' })
      .expect(204);
    await t.mailSent();
    const sent = t.mailer.outbox.filter((m) => m.to === user.email).map((m) => m.kind);
    expect(sent.sort()).toEqual(['email_verification', 'password_changed', 'password_reset']);
    const tokensBefore = (await t.allItems()).filter((i) => i.entity === 'ActionToken').length;

    const records = await streamRecords(t);
    const mine = records.filter((r) => r.dynamodb?.Keys?.PK?.S === `USER#${user.userId}`);
    expect(mine.filter(isMailRequest).length).toBeGreaterThanOrEqual(2);
    const processor = t.app.get(StreamProcessor);
    expect(await processor.handleBatch(mine)).toEqual({ handled: mine.length });
    expect(await processor.handleBatch(mine)).toEqual({ handled: mine.length });

    expect(
      t.mailer.outbox
        .filter((m) => m.to === user.email)
        .map((m) => m.kind)
        .sort(),
    ).toEqual(sent);
    expect((await t.allItems()).filter((i) => i.entity === 'ActionToken')).toHaveLength(tokensBefore);
  });

  it("tells the old (verified) address once when the email changes, from the user item's own change", async () => {
    const user = await signUp(t);
    await verifyEmail(t, user);
    const newEmail = `moved-${user.email}`;
    await moveEmail(t, user, newEmail);
    await t.mailSent();
    expect(t.mailer.outbox.filter((m) => m.kind === 'email_changed' && m.to === user.email)).toEqual([
      expect.objectContaining({ text: expect.stringContaining(newEmail) }),
    ]);
    // The new address got the change's confirmation link only (review 22a M3).
    expect(t.mailer.outbox.filter((m) => m.to === newEmail).map((m) => m.kind)).toEqual(['email_change']);
  });

  it('a never-verified address gets one email_changed notice a day, naming no new address, however many accounts leave it (review 22a L7)', async () => {
    const first = await signUp(t);
    const stranger = first.email;
    await moveEmail(t, first, `hop1-${stranger}`);
    // The address was released (never verified): another account registers it and moves away too.
    const second = await signUp(t, { email: stranger });
    await moveEmail(t, second, `hop2-${stranger}`);
    await t.mailSent();
    const notices = t.mailer.outbox.filter((m) => m.kind === 'email_changed' && m.to === stranger);
    expect(notices).toHaveLength(1);
    expect(notices[0].text).toContain('which was never confirmed for it, was just moved to another email address');
    expect(notices[0].text).not.toContain('hop');
    expect(notices[0].html).not.toContain('hop');
    // One marker for the address, keyed by its hash (no copy of the address), about no user.
    const hash = createHash('sha256').update(stranger).digest('base64url');
    const marker = await t.getItem(`NOTICETO#${hash}`, 'NOTICE#email_changed');
    expect(marker).toMatchObject({ entity: 'NoticeToAddress', sentAt: expect.any(String), ttl: expect.any(Number) });
    expect(JSON.stringify(marker)).not.toContain(stranger);
  });

  /** Fails the next verification mails' sends with `errors` (a mail server's bad minute); every attempt is kept. */
  function failingVerifications(...errors: Error[]) {
    const send = t.mailer.send.bind(t.mailer);
    const attempts: MailMessage[] = [];
    const spy = jest.spyOn(t.mailer, 'send').mockImplementation((mail) => {
      if (mail.kind !== 'email_verification') return send(mail);
      attempts.push(mail);
      const failure = errors.shift();
      return failure ? Promise.reject(failure) : send(mail);
    });
    return { attempts, restore: () => spy.mockRestore() };
  }
  const smtpError = (responseCode: number, message: string) =>
    Object.assign(new Error(message), { responseCode, command: 'RCPT TO' });
  const itemsOf = async (user: SignedIn, entity: string) =>
    (await t.allItems()).filter((i) => i.entity === entity && i.userId === user.userId);

  /** The user got no mail, and neither a token nor a mail request of theirs is left. */
  async function expectNoMailNorLink(user: SignedIn) {
    expect(t.mailer.outbox.filter((m) => m.to === user.email)).toEqual([]);
    expect(await itemsOf(user, 'ActionToken')).toEqual([]);
    expect(await itemsOf(user, 'MailRequest')).toEqual([]);
  }

  it('a verification mail greylisted at its first send (450 4.2.0 at RCPT TO) is retried by the stream: the user gets one mail, and its link works (session 22)', async () => {
    const greylisting = failingVerifications(smtpError(450, '450 4.2.0 greylisted'));
    let user: SignedIn;
    try {
      user = await signUp(t);
      await mailSentOnRetry(t);
    } finally {
      greylisting.restore();
    }
    const mails = t.mailer.outbox.filter((m) => m.to === user.email && m.kind === 'email_verification');
    expect(mails).toHaveLength(1);
    expect(greylisting.attempts.map((m) => m.link)).toEqual([mails[0].link, mails[0].link]); // the same link both times
    expect(await itemsOf(user, 'ActionToken')).toHaveLength(1);
    expect(await itemsOf(user, 'MailRequest')).toEqual([]); // sent: the request is gone
    await t.api
      .post('/api/v1/auth/verify-email/confirm')
      .send({ token: tokenOf(mails[0]) })
      .expect(204);
    const me = await t.api.get('/api/v1/users/me').set('authorization', user.bearer).expect(200);
    expect((me.body as { status: string }).status).toBe('active');
    // The user's records again (a replay): nothing more is sent, and the used link stays used.
    const records = (await streamRecords(t)).filter((r) => r.dynamodb?.Keys?.PK?.S === `USER#${user.userId}`);
    await t.app.get(StreamProcessor).handleBatch(records);
    expect(t.mailer.outbox.filter((m) => m.to === user.email)).toHaveLength(1);
    expect(await itemsOf(user, 'ActionToken')).toEqual([]);
  });

  it('a retry that finds the link used since (the mail arrived, its answer lost) sends nothing and puts no token back', async () => {
    const timeout = failingVerifications(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' }));
    let user: SignedIn;
    try {
      user = await signUp(t);
      // The link is used between the failed send and its retry.
      await mailSentOnRetry(t, () =>
        t.api
          .post('/api/v1/auth/verify-email/confirm')
          .send({ token: tokenOf(timeout.attempts[0]) })
          .expect(204),
      );
    } finally {
      timeout.restore();
    }
    expect(timeout.attempts).toHaveLength(1);
    await expectNoMailNorLink(user);
  });

  it('a mail refused for good (550 at RCPT TO) is not retried: no mail, and neither the request nor its token is left', async () => {
    const closed = failingVerifications(smtpError(550, '550 5.1.1 no such mailbox'));
    let user: SignedIn;
    try {
      user = await signUp(t);
      await t.mailSent(); // the record does not fail
    } finally {
      closed.restore();
    }
    expect(closed.attempts).toHaveLength(1);
    await expectNoMailNorLink(user);
  });

  it('a mail request older than the link lifetime when the processor reaches it is neither minted nor sent', async () => {
    const user = await signUp(t);
    await t.mailSent();
    await t.api.post('/api/v1/auth/password-reset/request').send({ email: user.email }).expect(202);
    t.clock.advance(600 * 1000); // the worker was down for the link's whole lifetime
    try {
      await t.mailSent();
    } finally {
      t.clock.reset();
    }
    expect(t.mailer.outbox.filter((m) => m.to === user.email && m.kind === 'password_reset')).toEqual([]);
    const tokens = (await t.allItems()).filter((i) => i.entity === 'ActionToken' && i.userId === user.userId);
    expect(tokens.map((i) => i.kind)).toEqual(['email_verification']);
  });
});

describe('Requests never call the mailer', () => {
  let t: TestApp;
  let calls = 0;

  beforeAll(async () => {
    t = await createTestApp();
    // A mail server that never answers: a request that waited for it would never answer either.
    t.mailer.send = () => {
      calls++;
      return new Promise<void>(() => undefined);
    };
  });
  afterAll(async () => {
    await t.close();
  });

  it('register, reset, verification and email change answer without a mail, at the same DynamoDB cost for known and unknown addresses', async () => {
    const user = await signUp(t);
    const reset = (email: string) => t.api.post('/api/v1/auth/password-reset/request').send({ email }).expect(202);
    const verify = (email: string) => t.api.post('/api/v1/auth/verify-email/request').send({ email }).expect(202);
    // Calls and writes; the read units differ as before (a found user item is larger than none).
    const cost = (res: Parameters<typeof dynamoCost>[0]) => {
      const { calls, wcu } = dynamoCost(res);
      return { calls, wcu };
    };
    const known = [cost(await reset(user.email)), cost(await verify(user.email))];
    const unknown = [cost(await reset('nobody@example.com')), cost(await verify('nobody@example.com'))];
    expect(unknown).toEqual(known);
    // One write each: the mail request (the stand-in for an unknown address).
    expect(known.map((c) => c.wcu)).toEqual([1, 1]);
    await t.api
      .post('/api/v1/users/me/email')
      .set('authorization', user.bearer)
      .send({ email: `moved-${user.email}`, password: user.password })
      .expect(202);
    await t.api
      .post('/api/v1/auth/password')
      .set('authorization', user.bearer)
      .send({ currentPassword: user.password, newPassword: 'changed-password-1' })
      .expect(204);
    expect(calls).toBe(0);
    const requests = (await t.allItems()).filter((i) => i.entity === 'MailRequest');
    // registration, reset, verification, email change; and the two stand-ins, with no address.
    expect(requests.filter((i) => i.userId === user.userId)).toHaveLength(4);
    expect(requests.filter((i) => String(i.userId).startsWith('nobody-')).map((i) => i.email)).toEqual([
      undefined,
      undefined,
    ]);
  });
});
