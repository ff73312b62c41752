import { PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SettableClock } from '../common/clock/clock.js';
import { epochSeconds } from '../dynamo/expressions.js';
import { DisplayFanoutJobsRepository } from './display-fanout-jobs.repository.js';
import { FanInPromotionJobsRepository } from './fan-in-promotion-jobs.repository.js';
import { DEAD_LETTER_TTL_SECONDS } from '../dynamo/replay-window.js';

/** Records the `ttl` of every item a Put (alone or in a transaction) or an Update writes. */
function recordingClient() {
  const ttls: number[] = [];
  const send = (command: unknown) => {
    if (command instanceof PutCommand) ttls.push(Number(command.input.Item?.ttl));
    else if (command instanceof TransactWriteCommand) {
      for (const item of command.input.TransactItems ?? []) if (item.Put) ttls.push(Number(item.Put.Item?.ttl));
    } else if (command instanceof UpdateCommand) {
      const values = command.input.ExpressionAttributeValues ?? {};
      const names = command.input.ExpressionAttributeNames ?? {};
      const ttlName = Object.entries(names).find(([, name]) => name === 'ttl')?.[0];
      const placeholder = ttlName && command.input.UpdateExpression?.match(new RegExp(`${ttlName} = (:\\w+)`))?.[1];
      if (placeholder) ttls.push(Number(values[placeholder]));
    }
    return Promise.resolve({});
  };
  return { client: { send } as never, ttls };
}

// A step whose record was dead-lettered can be replayed until the dead letter expires; the job it
// continues must still be there then (review 13, M-a1: with a 2-day life, a replay on day 3 found
// no job and the promotion stopped short of the rest of the followers).
describe('stream job items outlive a dead letter of their step', () => {
  const clock = new SettableClock().set('2026-11-27T08:00:00Z');
  const deadLetterGone = epochSeconds(clock.now()) + DEAD_LETTER_TTL_SECONDS;

  it('a fan-in promotion job, started, moved on and done', async () => {
    const { client, ttls } = recordingClient();
    const jobs = new FanInPromotionJobsRepository(client, 't', clock);
    await jobs.start('author');
    await jobs.advance({ authorId: 'author', step: 1 }, { PK: 'x', SK: 'y' });
    await jobs.finish({ authorId: 'author', step: 2 });
    expect(ttls).toHaveLength(3);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(deadLetterGone);
  });

  it("a rename's display copy job, started and moved on", async () => {
    const { client, ttls } = recordingClient();
    const jobs = new DisplayFanoutJobsRepository(client, 't', clock);
    const display = { authorUsername: 'ada', authorVersion: 2 };
    await jobs.start('user', display, { phase: 'posts' });
    await jobs.advance(
      { userId: 'user', display, progress: { phase: 'posts' }, step: 1 },
      { phase: 'comments', cursor: 'c' },
    );
    expect(ttls).toHaveLength(2);
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(deadLetterGone);
  });
});
