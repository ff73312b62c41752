import { jest } from '@jest/globals';
import perfHooks from 'node:perf_hooks';
import { AppMetrics } from './app-metrics.js';

describe('AppMetrics', () => {
  afterEach(() => jest.restoreAllMocks());

  it("samples the event loop's delay every 100 ms, not prom-client's default 10", () => {
    const monitor = jest.spyOn(perfHooks, 'monitorEventLoopDelay');
    new AppMetrics();
    expect(monitor).toHaveBeenCalledWith({ resolution: 100 });
  });
});
