import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { jest } from '@jest/globals';
import type { Request, Response } from 'express';
import helmet from 'helmet';
import { currentUsage, usageOf } from '../dynamo/request-accounting.js';
import type { AccessLog } from '../logging/logger.js';
import type { AppMetrics } from '../metrics/app-metrics.js';
import { helmetHeaders, requestContext } from './request-context.middleware.js';

/** One request through the middleware, with a recording access log and metrics. */
function serveOne(serverTiming = true) {
  const lines: (Error | undefined)[] = [];
  const aborted: boolean[] = [];
  const accessLog: AccessLog = (_req, res) => {
    res.setHeader('X-Request-Id', 'req-1');
    return (error, hungUp = false) => {
      lines.push(error);
      aborted.push(hungUp);
    };
  };
  const observeHttp = jest.fn();
  const middleware = requestContext({ accessLog, metrics: { observeHttp } as unknown as AppMetrics, serverTiming });
  const req = new IncomingMessage(new Socket()) as Request;
  req.method = 'GET';
  req.url = '/health/live';
  const res = new ServerResponse(req) as unknown as Response;
  let inside: unknown;
  middleware(req, res, () => (inside = currentUsage()));
  return { req, res, lines, aborted, observeHttp, inside };
}

describe('requestContext', () => {
  it("sets helmet's headers after the request id, and runs the rest of the request inside its usage record", () => {
    const { req, res, inside } = serveOne();
    const names = Object.keys(res.getHeaders());
    expect(names[0]).toBe('x-request-id');
    expect(names.slice(1)).toEqual(helmetHeaders().map(([name]) => name.toLowerCase()));
    expect(inside).toBeDefined();
    expect(inside).toBe(usageOf(req));
  });

  it('writes one access line and observes the duration once, when the response finishes and then closes', () => {
    const { res, lines, aborted, observeHttp } = serveOne();
    res.statusCode = 204;
    res.emit('finish');
    res.emit('close');
    expect(lines).toStrictEqual([undefined]);
    expect(aborted).toStrictEqual([false]);
    expect(observeHttp).toHaveBeenCalledTimes(1);
    expect(observeHttp).toHaveBeenCalledWith('GET', 'unmatched', 204, expect.any(Number));
  });

  it('writes the line of a request whose client hung up (close without finish) as aborted, counted under 499 (review 22a L8)', () => {
    const { res, lines, aborted, observeHttp } = serveOne();
    res.emit('close');
    expect(lines).toHaveLength(1);
    expect(aborted).toStrictEqual([true]);
    expect(observeHttp).toHaveBeenCalledTimes(1);
    expect(observeHttp).toHaveBeenCalledWith('GET', 'unmatched', 499, expect.any(Number));
  });

  it('writes the error of a response that failed, once', () => {
    const { res, lines } = serveOne();
    const failure = new Error('socket gone');
    res.emit('error', failure);
    res.emit('close');
    expect(lines).toStrictEqual([failure]);
  });

  it('adds Server-Timing with the DynamoDB usage when the headers leave, only when enabled', () => {
    const on = serveOne(true);
    usageOf(on.req)!.calls = 2;
    on.res.writeHead(200);
    expect(on.res.getHeader('server-timing')).toBe('db;dur=0;desc="dynamodb calls=2 rcu=0 wcu=0"');
    const off = serveOne(false);
    off.res.writeHead(200);
    expect(off.res.getHeader('server-timing')).toBeUndefined();
  });

  it('says Cache-Control: private, no-store on an answer to a signed-in caller, over any other value (review 17a L4)', () => {
    const signedIn = serveOne(false);
    (signedIn.req as { user?: unknown }).user = { userId: 'u1' };
    signedIn.res.setHeader('Cache-Control', 'public, max-age=5');
    signedIn.res.writeHead(404);
    expect(signedIn.res.getHeader('cache-control')).toBe('private, no-store');
    const anonymous = serveOne(false);
    anonymous.res.setHeader('Cache-Control', 'public, max-age=5');
    anonymous.res.writeHead(200);
    expect(anonymous.res.getHeader('cache-control')).toBe('public, max-age=5');
    expect(serveOne(true).res.writeHead(200).getHeader('cache-control')).toBeUndefined();
  });
});

describe('helmetHeaders', () => {
  it('are the headers helmet sets on a response, in its order', () => {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    helmet()(res.req, res, () => undefined);
    const expected = Object.entries(res.getHeaders()).map(([name, value]) => [name, String(value)]);
    expect(helmetHeaders().map(([name, value]) => [name.toLowerCase(), value])).toEqual(expected);
    expect(expected.length).toBeGreaterThanOrEqual(12);
  });

  it('leave out HSTS and upgrade-insecure-requests when the API is not served over HTTPS (review 18c)', () => {
    const all = new Map(helmetHeaders(true).map(([name, value]) => [name.toLowerCase(), value]));
    const plain = new Map(helmetHeaders(false).map(([name, value]) => [name.toLowerCase(), value]));
    expect(all.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect(all.get('content-security-policy')).toContain('upgrade-insecure-requests');
    expect(plain.has('strict-transport-security')).toBe(false);
    // The rest of the policy and every other header as they were.
    expect(plain.get('content-security-policy')).toBe(
      all.get('content-security-policy')!.replace(/;?upgrade-insecure-requests/, ''),
    );
    all.delete('strict-transport-security');
    all.delete('content-security-policy');
    plain.delete('content-security-policy');
    expect(plain).toEqual(all);
  });
});
