import { createHmac, timingSafeEqual } from 'node:crypto';

const mac = (secret: string, body: string, unixSeconds: number): string =>
  createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');

/**
 * `X-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, keyed by
 * WEBHOOK_SECRET. The time is inside the MAC so a receiver can refuse old replays. During a key
 * rotation (WEBHOOK_SECRET_PREVIOUS) one `v1=` per key, the current first, as Stripe does: a
 * receiver that knows either key accepts the request.
 */
export function signWebhook(secrets: string | readonly string[], body: string, unixSeconds: number): string {
  const keys = typeof secrets === 'string' ? [secrets] : secrets.filter((key) => key !== '');
  return [`t=${unixSeconds}`, ...keys.map((key) => `v1=${mac(key, body, unixSeconds)}`)].join(',');
}

/**
 * What a receiver does (the docs' example, and the tests' receivers): true when one of the
 * header's `v1` MACs matches the body under `secret` and its time is within `toleranceSeconds`
 * of `nowSeconds`. Unknown schemes in the header are ignored.
 */
export function verifyWebhook(
  secret: string,
  body: string,
  header: string | undefined,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const parts = (header ?? '').split(',').map((part) => part.split('='));
  const time = parts.find(([key]) => key === 't')?.[1];
  if (!time || !/^\d+$/.test(time)) return false;
  const t = Number(time);
  if (Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(mac(secret, body, t), 'hex');
  return parts
    .filter(([key, value]) => key === 'v1' && /^[0-9a-f]{64}$/.test(value ?? ''))
    .some(([, value]) => timingSafeEqual(expected, Buffer.from(value, 'hex')));
}
