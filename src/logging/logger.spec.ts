import { EventEmitter } from 'node:events';
import type { Request, Response } from 'express';
import type { DestinationStream, LevelWithSilent } from 'pino';
import { createHttpLogger, createRootLogger } from './logger.js';
import type { AppConfig } from '../config/app-config.js';

/** The access-log middleware over a captured stream, and one request through it. */
function serveOne(level: LevelWithSilent) {
  const lines: Record<string, unknown>[] = [];
  const stream: DestinationStream = { write: (line: string) => void lines.push(JSON.parse(line)) };
  const root = createRootLogger({ logLevel: 'log', nodeEnv: 'test' } as AppConfig, { level, stream });
  const middleware = createHttpLogger(root);
  let socketReads = 0;
  const req = {
    method: 'GET',
    url: '/api/v1/posts?token=abc',
    originalUrl: '/api/v1/posts?token=abc',
    headers: { authorization: 'Bearer secret', 'user-agent': 'spec' },
    get socket() {
      socketReads++;
      return { remoteAddress: '127.0.0.1', remotePort: 50000 };
    },
  };
  const res = Object.assign(new EventEmitter(), {
    statusCode: 200,
    setHeader: () => undefined,
    getHeaders: () => ({}),
  });
  middleware(req as unknown as Request, res as unknown as Response, () => undefined);
  res.emit('finish');
  return { lines, socketReads: () => socketReads };
}

describe('createHttpLogger', () => {
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
      url: '/api/v1/posts?token=[Redacted]',
      remoteAddress: '127.0.0.1',
      headers: { authorization: '[Redacted]', 'user-agent': 'spec' },
    });
  });

  it('does not serialise the request when the access line is off (a cost on every request)', () => {
    const { lines, socketReads } = serveOne('warn');
    expect(lines).toHaveLength(0);
    expect(socketReads()).toBe(0);
  });
});
