import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SettableClock } from '../common/clock/clock.js';
import type { AppConfig } from '../config/app-config.js';
import { WEBHOOK_ANSWER_READ_BYTES, WebhookSender } from './webhook-sender.js';

const TIMEOUT_MS = 20_000;
const MiB = 1024 * 1024;

/** A receiver on 127.0.0.1 whose answer `respond` writes; counts the bytes of answer it got out. */
async function receiver(respond: (res: ServerResponse, sent: { bytes: number }) => void) {
  const sent = { bytes: 0 };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => respond(res, sent));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url, sent, close };
}

/** `status`, then 1 MiB chunks for as long as the client reads (backpressure), never ending. */
const endless = (status: number) => (res: ServerResponse, sent: { bytes: number }) => {
  const chunk = Buffer.alloc(MiB, 'x');
  res.writeHead(status, { 'content-type': 'application/octet-stream' });
  let open = true;
  res.on('close', () => (open = false));
  const pump = () => {
    while (open) {
      sent.bytes += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
  };
  pump();
};

const sender = () =>
  new WebhookSender(
    { webhooks: { secret: 's'.repeat(32), previousSecret: '', timeoutMs: TIMEOUT_MS } } as unknown as AppConfig,
    new SettableClock().set('2026-11-28T00:00:00.000Z'),
  );

describe('WebhookSender', () => {
  it('reads no more than a small cap of an endless answer: judged by its status, at once, memory bounded', async () => {
    const r = await receiver(endless(200));
    try {
      const started = Date.now();
      const result = await sender().send(r.url, 'evt_1', 'user.registered', '{}');
      expect(result).toEqual({ ok: true, status: 200 });
      // Not held until the timeout reading a body that never ends (the whole answer read: 20 s).
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);
      // What the receiver got out is the cap plus the sockets' buffers, not hundreds of MiB.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(r.sent.bytes).toBeLessThanOrEqual(32 * MiB);
    } finally {
      await r.close();
    }
  });

  it('an endless answer with a failing status is a failure by its status', async () => {
    const r = await receiver(endless(503));
    try {
      expect(await sender().send(r.url, 'evt_1', 'user.registered', '{}')).toEqual({
        ok: false,
        status: 503,
        error: 'HTTP 503',
      });
    } finally {
      await r.close();
    }
  });

  it('a short answer is read to its end and the attempt judged by its status', async () => {
    const r = await receiver((res) => res.writeHead(202).end('x'.repeat(WEBHOOK_ANSWER_READ_BYTES / 2)));
    try {
      expect(await sender().send(r.url, 'evt_1', 'user.registered', '{}')).toEqual({ ok: true, status: 202 });
    } finally {
      await r.close();
    }
  });
});
