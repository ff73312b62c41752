import type { TestApp } from './test-app.js';
import { StreamPoller } from '../../src/stream/stream-poller.js';

/**
 * Runs the app's stream poller until the suite's table's stream has nothing new: what a test
 * does after a write whose effects the stream processor carries out (tests run with
 * `STREAM_WORKER=off`, so no poller runs unless a test asks).
 */
export async function processStream(t: TestApp): Promise<void> {
  await t.app.get(StreamPoller).drain();
}
