import { jest } from '@jest/globals';
import type { DestinationStream } from 'pino';
import { DynamoUsage, runWithUsage } from '../dynamo/request-accounting.js';
import type { AppConfig } from '../config/app-config.js';
import { AppLogger, bindRequestLogs } from './app-logger.js';
import { createRootLogger } from './logger.js';

const lines: Record<string, unknown>[] = [];
const stream: DestinationStream = { write: (line: string) => void lines.push(JSON.parse(line)) };
const root = createRootLogger({ logLevel: 'verbose', nodeEnv: 'test' } as AppConfig, { level: 'trace', stream });
const logger = new AppLogger(root);

describe('AppLogger', () => {
  beforeEach(() => (lines.length = 0));

  it("writes nestjs-pino's lines: the context from the last argument, an Error as err, objects merged", () => {
    logger.log('started', 'Bootstrap');
    logger.warn({ table: 'bench' }, 'Dynamo');
    logger.error(new Error('boom'), 'Stream');
    expect(lines[0]).toMatchObject({ level: 30, context: 'Bootstrap', msg: 'started' });
    expect(lines[1]).toMatchObject({ level: 40, context: 'Dynamo', table: 'bench' });
    expect(lines[2]).toMatchObject({ level: 50, context: 'Stream', err: { message: 'boom', type: 'Error' } });
    expect(lines.every((line) => !('requestId' in line))).toBe(true);
  });

  it("turns an exception handler's (message, stack, context) call into one error with that stack", () => {
    logger.error('Unhandled', 'Error: Unhandled\n    at handler (app.js:1:1)', 'ExceptionsHandler');
    expect(lines[0]).toMatchObject({
      context: 'ExceptionsHandler',
      err: { message: 'Unhandled', stack: 'Error: Unhandled\n    at handler (app.js:1:1)' },
    });
  });

  it("binds the lines written inside a request to its id, making the request's logger only when something logs", async () => {
    const usage = new DynamoUsage();
    const parent = root.child({});
    const child = jest.spyOn(parent, 'child');
    bindRequestLogs(usage, parent, 'req-7');
    await runWithUsage(usage, async () => {
      expect(child).not.toHaveBeenCalled();
      await Promise.resolve();
      logger.log('inside', 'Posts');
      logger.warn('again', 'Posts');
    });
    logger.log('outside', 'Posts');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines.map((line) => [line.msg, line.requestId])).toEqual([
      ['inside', 'req-7'],
      ['again', 'req-7'],
      ['outside', undefined],
    ]);
  });

  it("writes Nest's line per module and per route at trace, not info, and drops its controller lines (review 18c)", () => {
    logger.log('PostsModule dependencies initialized', 'InstanceLoader');
    logger.log('HealthController {/api/v1/health}:', 'RoutesResolver');
    logger.log('Mapped {/health/live, GET} route', 'RouterExplorer');
    logger.log('91 routes mapped', 'Routes');
    logger.warn('a warning', 'RouterExplorer');
    // The root logs from `trace`: each line at the level it was written.
    expect(lines.map((line) => [line.level, line.context, line.msg])).toEqual([
      [10, 'InstanceLoader', 'PostsModule dependencies initialized'],
      [10, 'RouterExplorer', 'Mapped {/health/live, GET} route'],
      [30, 'Routes', '91 routes mapped'],
      [40, 'RouterExplorer', 'a warning'],
    ]);
  });
});
