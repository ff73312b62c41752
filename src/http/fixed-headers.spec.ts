import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { fixedHeaders } from './fixed-headers.js';

/** The headers a real response carries after `middleware` (and an X-Powered-By set before it). */
async function headersAfter(middleware: RequestHandler): Promise<Record<string, string>> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('X-Powered-By', 'Express');
    middleware(req as Request, res as Response, () => res.end('ok'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    await res.text();
    const headers = Object.fromEntries(res.headers);
    for (const varying of ['date', 'connection', 'keep-alive', 'content-length']) delete headers[varying];
    return headers;
  } finally {
    server.close();
  }
}

describe('fixedHeaders', () => {
  it("sets exactly helmet's headers, and removes X-Powered-By as helmet does", async () => {
    const expected = await headersAfter(helmet());
    expect(Object.keys(expected).length).toBeGreaterThan(10);
    expect(expected['x-powered-by']).toBeUndefined();
    expect(await headersAfter(fixedHeaders(helmet()))).toEqual(expected);
  });

  it('refuses a middleware that does not pass the request on at once (its headers could depend on it)', () => {
    expect(() => fixedHeaders(() => undefined)).toThrow(/did not pass the request on/);
    expect(() => fixedHeaders((_req, _res, next) => next(new Error('no')))).toThrow('no');
  });
});
