import { CapacityLimiter } from './capacity-limiter.js';

describe('CapacityLimiter', () => {
  it('paces calls to the budget and corrects estimates with the reported capacity', async () => {
    let clock = 0;
    const waits: number[] = [];
    const limiter = new CapacityLimiter(
      10,
      () => clock,
      (ms) => {
        waits.push(ms);
        clock += ms;
        return Promise.resolve();
      },
    );
    await limiter.take(5); // first call goes at once
    await limiter.take(5); // 5 units at 10/s = 500 ms after the first
    limiter.settle(5, 15); // it really cost 15: the next call waits 1 s more
    await limiter.take(1);
    expect(waits).toEqual([500, 1500]);
  });

  it('never waits without a budget', async () => {
    const limiter = new CapacityLimiter(
      undefined,
      () => 0,
      () => Promise.reject(new Error('slept')),
    );
    await limiter.take(1000);
    limiter.settle(1, 1000);
    await limiter.take(1000);
  });
});
