import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import type { DestinationStream, LevelWithSilent } from 'pino';
import { DynamoUsage, runWithUsage } from '../dynamo/request-accounting.js';
import { AppLogger } from './app-logger.js';
import { createAccessLog, createRootLogger, nestLoggerFor } from './logger.js';
import type { AppConfig } from '../config/app-config.js';

/**
 * The access log over a captured stream, and one request through it; `hangUp`: the client goes
 * away before the answer (the socket destroyed before the line is written).
 */
function serveOne(level: LevelWithSilent, hangUp = false) {
  const lines: Record<string, unknown>[] = [];
  const stream: DestinationStream = { write: (line: string) => void lines.push(JSON.parse(line)) };
  const root = createRootLogger({ logLevel: 'log', nodeEnv: 'test' } as AppConfig, { level, stream });
  const open = createAccessLog(root);
  let socketReads = 0;
  let destroyed = false;
  const req = {
    method: 'GET',
    url: '/api/v1/posts?token=abc&cursor=c1&limit=5',
    originalUrl: '/api/v1/posts?token=abc&cursor=c1&limit=5',
    headers: { authorization: 'Bearer secret', 'idempotency-key': 'k-1', 'user-agent': 'spec' },
    get socket() {
      socketReads++;
      // As Node's: a destroyed socket no longer knows its peer.
      return destroyed ? {} : { remoteAddress: '127.0.0.1', remotePort: 50000 };
    },
  };
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    setHeader: () => undefined,
    getHeaders: () => ({}),
  });
  const writeLine = open(req as unknown as Request, res as unknown as Response, {});
  if (hangUp) destroyed = true;
  writeLine(undefined, hangUp);
  return { lines, socketReads: () => socketReads };
}

describe('createAccessLog', () => {
  it('writes one access line whose request part comes right after the request id', () => {
    const { lines } = serveOne('info');
    expect(lines).toHaveLength(1);
    expect(Object.keys(lines[0])).toEqual([
      'level',
      'time',
      'service',
      'requestId',
      'req',
      'res',
      'durationMs',
      'route',
      'db',
      'msg',
    ]);
    expect(lines[0].req).toEqual({
      method: 'GET',
      url: '/api/v1/posts?token=[Redacted]&cursor=[Redacted]&limit=5',
      remoteAddress: '127.0.0.1',
      headers: { authorization: '[Redacted]', 'idempotency-key': '[Redacted]', 'user-agent': 'spec' },
    });
  });

  it("keeps the client's address on the line of a request whose client hung up before the answer (review 5, #4)", () => {
    const { lines } = serveOne('info', true);
    expect(lines).toHaveLength(1);
    expect(lines[0].req).toMatchObject({ remoteAddress: '127.0.0.1' });
  });

  it("logs a hung-up request as 499 aborted, not as Node's default 200 (review 22a L8)", () => {
    const { lines } = serveOne('info', true);
    expect(lines[0]).toMatchObject({ res: { statusCode: 499 }, aborted: true, msg: 'GET unmatched 499' });
    expect(lines[0].level).toBe(30);
    expect(serveOne('info').lines[0]).not.toHaveProperty('aborted');
  });

  it('does not serialise the request when the access line is off (a cost on every request)', () => {
    const { lines, socketReads } = serveOne('warn');
    expect(lines).toHaveLength(0);
    expect(socketReads()).toBe(0);
  });

  it("binds what Nest's Logger writes inside the request to the request id", () => {
    const lines: Record<string, unknown>[] = [];
    const stream: DestinationStream = { write: (line: string) => void lines.push(JSON.parse(line)) };
    const root = createRootLogger({ logLevel: 'log', nodeEnv: 'test' } as AppConfig, { level: 'info', stream });
    const nest = new AppLogger(root);
    const req = { method: 'GET', url: '/', headers: { 'x-request-id': 'trace-9' } } as unknown as Request;
    const res = Object.assign(new EventEmitter(), { statusCode: 200, setHeader: () => undefined });
    const usage = new DynamoUsage();
    createAccessLog(root)(req, res as unknown as Response, usage);
    runWithUsage(usage, () => nest.log('inside the request', 'Posts'));
    expect(lines.find((line) => line.msg === 'inside the request')).toMatchObject({
      requestId: 'trace-9',
      context: 'Posts',
    });
  });
});

describe('nestLoggerFor (the commands and the stream worker)', () => {
  it("writes Nest's line per module at trace, as the server does, and the rest at their level", () => {
    const lines: Record<string, unknown>[] = [];
    const stream: DestinationStream = { write: (line: string) => void lines.push(JSON.parse(line)) };
    const logger = nestLoggerFor(createRootLogger({ logLevel: 'log', nodeEnv: 'test' } as AppConfig, { stream }));
    logger.log('UsersModule dependencies initialized', 'InstanceLoader');
    logger.log('Table publishing: ready', 'Database');
    logger.warn('slow', 'InstanceLoader');
    expect(lines.map((line) => [line.level, line.context, line.msg])).toEqual([
      [30, 'Database', 'Table publishing: ready'],
      [40, 'InstanceLoader', 'slow'],
    ]);
    lines.length = 0;
    const verbose = nestLoggerFor(createRootLogger({ logLevel: 'verbose', nodeEnv: 'test' } as AppConfig, { stream }));
    verbose.log('UsersModule dependencies initialized', 'InstanceLoader');
    expect(lines.map((line) => [line.level, line.context])).toEqual([[10, 'InstanceLoader']]);
  });
});
