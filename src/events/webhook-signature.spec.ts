import { createHmac } from 'node:crypto';
import { signWebhook, verifyWebhook } from './webhook-signature.js';

const SECRET = 'a-webhook-secret-of-at-least-32-bytes!!';
const BODY = '{"id":"evt_1","type":"user.registered","occurredAt":"2026-11-26T08:00:00.000Z","data":{}}';

describe('webhook signature', () => {
  it('is t=<seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>"> keyed by the secret', () => {
    const expected = createHmac('sha256', SECRET).update(`1764144000.${BODY}`).digest('hex');
    expect(signWebhook(SECRET, BODY, 1_764_144_000)).toBe(`t=1764144000,v1=${expected}`);
  });

  it('verifies its own signature within the tolerance', () => {
    const header = signWebhook(SECRET, BODY, 1000);
    expect(verifyWebhook(SECRET, BODY, header, 1000)).toBe(true);
    expect(verifyWebhook(SECRET, BODY, header, 1300)).toBe(true);
    expect(verifyWebhook(SECRET, BODY, header, 1301)).toBe(false);
  });

  it('refuses another body, another secret, another time and malformed headers', () => {
    const header = signWebhook(SECRET, BODY, 1000);
    expect(verifyWebhook(SECRET, `${BODY} `, header, 1000)).toBe(false);
    expect(verifyWebhook(`${SECRET}x`, BODY, header, 1000)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, header.replace('t=1000', 't=1001'), 1000)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, undefined, 1000)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, 'v1=abc', 1000)).toBe(false);
  });

  it('carries one v1 per key during a rotation, the current first: a receiver with either key accepts it', () => {
    const previous = 'the-previous-webhook-secret-32-bytes-long';
    const header = signWebhook([SECRET, previous], BODY, 1000);
    const [t, current, old] = header.split(',');
    expect(t).toBe('t=1000');
    expect(current).toBe(signWebhook(SECRET, BODY, 1000).split(',')[1]);
    expect(old).toBe(signWebhook(previous, BODY, 1000).split(',')[1]);
    expect(verifyWebhook(SECRET, BODY, header, 1000)).toBe(true);
    expect(verifyWebhook(previous, BODY, header, 1000)).toBe(true);
    expect(verifyWebhook(`${SECRET}x`, BODY, header, 1000)).toBe(false);
    // No previous key: one v1 only.
    expect(signWebhook([SECRET, ''], BODY, 1000)).toBe(signWebhook(SECRET, BODY, 1000));
  });
});
