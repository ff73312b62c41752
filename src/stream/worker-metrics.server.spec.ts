import type { AddressInfo } from 'node:net';
import { get, type Server } from 'node:http';
import { AppMetrics } from '../metrics/app-metrics.js';
import type { StreamWorkerStatus } from './stream-poller.js';
import { startWorkerMetricsServer } from './worker-metrics.server.js';
import { closerOf } from '../../test/helpers/servers.js';

const TOKEN = 'worker-metrics-token-0123456789';

describe("npm run worker's metrics server", () => {
  let server: Server;
  let close: () => Promise<void>;
  let base: string;
  let status: StreamWorkerStatus;
  const metrics = new AppMetrics();

  beforeAll(async () => {
    status = { state: 'running', lastProgressAt: undefined };
    const worker = metrics.streamWorker(() => status.state === 'stalled');
    worker.lagSeconds.set({ shard: 'shardId-1' }, 12);
    worker.records.inc({ event: 'MODIFY', outcome: 'ok' }, 3);
    worker.records.inc({ event: 'REMOVE', outcome: 'error' });
    worker.deadLetters.set(2);
    server = await startWorkerMetricsServer({
      port: 0,
      host: '127.0.0.1',
      metricsToken: TOKEN,
      metrics,
      status: () => status,
    });
    close = closerOf(server);
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => close());

  /**
   * A GET on a connection of its own, closed after the answer (`agent: false`): fetch's
   * keep-alive pool kept a socket open past the test file, and Jest then reported a worker that
   * failed to exit (in about two runs of three).
   */
  function request(path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      get(`${base}${path}`, { headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      }).on('error', reject);
    });
  }
  const scrape = () => request('/metrics', { authorization: `Bearer ${TOKEN}` });
  const statusOf = async (path: string) => (await request(path)).status;

  it('serves the lag per shard, the counts by outcome, the dead letters and the stall behind the token', async () => {
    const { status: code, text } = await scrape();
    expect(code).toBe(200);
    expect(text).toMatch(/^stream_worker_lag_seconds\{shard="shardId-1"\} 12$/m);
    expect(text).toMatch(/^stream_worker_records_total\{event="MODIFY",outcome="ok"\} 3$/m);
    expect(text).toMatch(/^stream_worker_records_total\{event="REMOVE",outcome="error"\} 1$/m);
    expect(text).toMatch(/^stream_worker_dead_letters 2$/m);
    expect(text).toMatch(/^stream_worker_stalled 0$/m);
  });

  it('refuses a scrape without the token', async () => {
    const res = await request('/metrics');
    expect(res.status).toBe(401);
    expect((JSON.parse(res.text) as { code: string }).code).toBe('invalid_metrics_token');
  });

  it('answers the liveness probe, and the worker probe with 503 while stalled', async () => {
    expect(await statusOf('/health/live')).toBe(200);
    expect(await statusOf('/health/worker')).toBe(200);
    status = { state: 'stalled', lastProgressAt: '2026-11-26T05:00:00.000Z' };
    expect(await statusOf('/health/worker')).toBe(503);
    expect((await scrape()).text).toMatch(/^stream_worker_stalled 1$/m);
    expect(await statusOf('/nope')).toBe(404);
  });
});
