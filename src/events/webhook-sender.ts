import { Inject, Injectable } from '@nestjs/common';
import { CLOCK, type Clock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { APP_CONFIG } from '../config/config.constants.js';
import { epochSeconds } from '../dynamo/expressions.js';
import { signWebhook } from './webhook-signature.js';

/** How one attempt went: a 2xx is delivered; anything else (status, timeout, refused connection) failed. */
export interface AttemptResult {
  ok: boolean;
  status?: number;
  /** Why it failed, short and without the URL (it may hold a secret). */
  error?: string;
}

/**
 * How much of a receiver's answer is read, at most: a short body is read to its end (so the
 * connection can be reused); a longer one is cancelled there (undici then closes the connection).
 * Only the status decides an attempt: a receiver streaming an endless body costs this much memory,
 * not what it can send before the timeout (review 20a L1).
 */
export const WEBHOOK_ANSWER_READ_BYTES = 64 * 1024;

/** Reads and drops up to `limit` bytes of a body, then cancels the rest; never throws. */
async function discard(body: ReadableStream<Uint8Array> | null, limit: number): Promise<void> {
  if (!body) return;
  const reader = body.getReader();
  try {
    for (let read = 0; read <= limit;) {
      const chunk = await reader.read();
      if (chunk.done) return;
      read += chunk.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // A body cut by the timeout or the receiver: the status is what counts.
    await reader.cancel().catch(() => undefined);
  }
}

/**
 * One signed POST of an event's body to a webhook, with a timeout. Redirects are not followed
 * (a receiver's 3xx is a failure): the event goes only to the URL the operator configured.
 */
@Injectable()
export class WebhookSender {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async send(url: string, eventId: string, eventType: string, body: string): Promise<AttemptResult> {
    const { secret, previousSecret, timeoutMs } = this.config.webhooks;
    // Checked at start-up too; checked again here because this is the call that would follow it.
    const scheme = new URL(url).protocol;
    if (scheme !== 'http:' && scheme !== 'https:') return { ok: false, error: 'refused: not an http(s) URL' };
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'publishing-api-webhooks/1',
          'x-webhook-id': eventId,
          'x-webhook-event': eventType,
          'x-webhook-signature': signWebhook([secret, previousSecret], body, epochSeconds(this.clock.now())),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      // Read and drop a short answer so the connection can be reused; never more than the cap.
      await discard(response.body, WEBHOOK_ANSWER_READ_BYTES);
      if (response.status >= 200 && response.status < 300) return { ok: true, status: response.status };
      return { ok: false, status: response.status, error: `HTTP ${response.status}` };
    } catch (error) {
      const name = error instanceof Error ? error.name : 'Error';
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
      const code = (cause as { code?: string } | undefined)?.code;
      return {
        ok: false,
        error: name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : `${name}${code ? ` ${code}` : ''}`,
      };
    }
  }
}
