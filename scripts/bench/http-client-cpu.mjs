// `node scripts/bench/http-client-cpu.mjs [undici-dir]`: CPU per DynamoDB call of the HTTP client
// alone (session 21, docs/performance.md "Session 21: the HTTP client per call"). The same signed
// `GetItem` of one small item, against an in-memory DynamoDB Local, at 16 callers, through:
//   - node:http with a keep-alive Agent: bare, and as the lean transport's `attempt` does it (a
//     socket listener, an idle timeout, an abort signal per call, a flat header list);
//   - undici's `Pool` (16 connections): `request()` and `dispatch()` with a handler of our own;
//   - a minimal keep-alive HTTP/1.1 client over `net.Socket` (one write of head and body, status
//     line, headers to the blank line, a `Content-Length` or chunked body; nothing else);
// and, for the share, the signing alone, the bare `LeanDynamoTransport.call` and the app's client
// (`DYNAMODB_CLIENT=lean`: the gate and the accounting). Every HTTP contender signs each request
// as the transport does (`LeanSigner`), so their differences are the clients'. Interleaved rounds,
// the first a warm-up; CPU time of this process (utime + stime: the engine is another process).
//
// undici is not a dependency of the project: `[undici-dir]` is a scratch directory that has it,
// e.g. `npm install --prefix /tmp/undici undici@7` (undici 8 wants Node 22.19+). Without it the
// undici rows are left out.
//   HTTP_CPU_COUNT=3000  calls per contender and round    HTTP_CPU_ROUNDS=6  rounds (the first a warm-up)
//   HTTP_CPU_ONLY='node:http'  only the contenders whose name contains one of these (comma-separated)
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { resolve } from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../../dist/config/app-config.js';
import { createDocumentClient, createDynamoClient } from '../../dist/dynamo/dynamo-client.factory.js';
import { LeanDynamoTransport } from '../../dist/dynamo/lean-dynamo-client.js';
import { LeanSigner } from '../../dist/dynamo/lean-signer.js';
import { runScript, startEngine } from '../reliability/lib.mjs';
import { cpuPerCall, ITEM_KEY, oneItemTable } from './per-call-cpu.mjs';

const COUNT = Number(process.env.HTTP_CPU_COUNT ?? 3000);
const ROUNDS = Number(process.env.HTTP_CPU_ROUNDS ?? 6);
const CONCURRENCY = 16;
const TABLE = 'http-client-cpu';
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/**
 * A keep-alive HTTP/1.1 client over `net.Socket`, one request in flight per socket, at most `size`
 * sockets: the least a client can do per call. A measuring stick, not a transport: no TLS, no
 * timeouts, no `Connection: close`, no half-closed sockets, no `Expect`, no 1xx answers.
 */
class MinimalPool {
  idle = [];
  queue = [];
  open = 0;
  constructor(host, port, size) {
    Object.assign(this, { host, port, size });
  }

  /** With a `signal`, as a transport would use it: the caller's abort and an idle timeout on the socket. */
  request(head, body, signal) {
    return new Promise((resolve, reject) => {
      const job = { message: `${head}\r\n${body}`, resolve, reject, signal };
      const connection = this.idle.pop();
      if (connection) connection.send(job);
      else if (this.open < this.size) {
        this.open++;
        new MinimalConnection(this).send(job);
      } else this.queue.push(job);
    });
  }

  release(connection) {
    const job = this.queue.shift();
    if (job) connection.send(job);
    else this.idle.push(connection);
  }

  drop(connection) {
    this.open--;
    this.idle = this.idle.filter((c) => c !== connection);
  }

  destroy() {
    for (const connection of this.idle) connection.socket.destroy();
  }
}

class MinimalConnection {
  job;
  pending = undefined;
  constructor(pool) {
    this.pool = pool;
    this.socket = connect({ host: pool.host, port: pool.port, noDelay: true });
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('socket closed')));
    this.socket.on('timeout', () => this.socket.destroy(new Error('no answer')));
  }

  send(job) {
    this.job = job;
    this.pending = undefined;
    this.answer = undefined;
    if (job.signal) {
      job.onAbort = () => this.socket.destroy(job.signal.reason);
      job.signal.addEventListener('abort', job.onAbort, { once: true });
      this.socket.setTimeout(5000);
    }
    this.socket.write(job.message);
  }

  settle(job) {
    if (!job.signal) return;
    job.signal.removeEventListener('abort', job.onAbort);
    this.socket.setTimeout(0);
  }

  fail(error) {
    this.pool.drop(this);
    const job = this.job;
    this.job = undefined;
    if (job) this.settle(job);
    job?.reject(error);
  }

  onData(chunk) {
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.answer) {
      const end = this.pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = this.pending.latin1Slice(0, end).split('\r\n');
      const headers = {};
      for (let i = 1; i < lines.length; i++) {
        const colon = lines[i].indexOf(':');
        headers[lines[i].slice(0, colon).toLowerCase()] = lines[i].slice(colon + 1).trim();
      }
      const chunked = headers['transfer-encoding']?.toLowerCase() === 'chunked';
      const length = chunked ? -1 : Number(headers['content-length'] ?? 0);
      this.answer = { status: Number(lines[0].slice(9, 12)), headers, length, chunked };
      this.pending = this.pending.subarray(end + 4);
    }
    const { answer } = this;
    let text;
    if (!answer.chunked) {
      if (this.pending.length < answer.length) return;
      text = this.pending.utf8Slice(0, answer.length);
    } else {
      text = dechunk(this.pending);
      if (text === undefined) return;
    }
    const job = this.job;
    this.settle(job);
    this.job = undefined;
    this.answer = undefined;
    this.pending = undefined;
    if (answer.headers.connection?.toLowerCase() === 'close') {
      this.pool.drop(this);
      this.socket.destroy();
    } else this.pool.release(this);
    job.resolve({ status: answer.status, headers: answer.headers, text });
  }
}

/** The body of a complete chunked message (no trailers), or undefined while incomplete. */
function dechunk(buffer) {
  const parts = [];
  let at = 0;
  for (;;) {
    const line = buffer.indexOf('\r\n', at);
    if (line < 0) return undefined;
    const size = Number.parseInt(buffer.latin1Slice(at, line), 16);
    if (size === 0) return buffer.length >= line + 4 ? Buffer.concat(parts).toString('utf8') : undefined;
    if (buffer.length < line + 2 + size + 2) return undefined;
    parts.push(buffer.subarray(line + 2, line + 2 + size));
    at = line + 2 + size + 2;
  }
}

async function main() {
  const undiciDir = process.argv[2];
  const undici = undiciDir ? createRequire(resolve(undiciDir, 'package.json'))('undici') : undefined;
  const engine = await startEngine({});
  const url = new URL(engine.endpoint);
  const sdk = new DynamoDBClient({ region: 'us-east-1', endpoint: engine.endpoint, credentials: CREDENTIALS });
  await oneItemTable(sdk, TABLE);
  const key = ITEM_KEY;
  // An item near DynamoDB's 400 KB limit: whether the engine frames a large answer differently.
  const bigKey = { PK: { S: 'POST#2' }, SK: { S: 'POST' } };
  await sdk.send(new PutItemCommand({ TableName: TABLE, Item: { ...bigKey, body: { S: 'y'.repeat(390_000) } } }));
  sdk.destroy();

  const body = JSON.stringify({ TableName: TABLE, Key: key });
  const signer = new LeanSigner({ credentials: CREDENTIALS, region: 'us-east-1', service: 'dynamodb' }, '/');
  /** The signed headers of one GetItem, as the transport builds them (lower-case names, host included). */
  const signed = async (payload = body) =>
    signer.sign(
      await signer.credentials(),
      {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.GetItem',
        'content-length': String(Buffer.byteLength(payload)),
        host: url.host,
      },
      payload,
      Date.now(),
    );
  const flat = (headers) => {
    const raw = [];
    for (const name in headers) raw.push(name, headers[name]);
    return raw;
  };

  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const origin = `${url.origin}/`;
  /**
   * One POST over node:http, with the parts of LeanDynamoTransport.attempt one at a time: the gate's
   * signal given to node:http (`signal: 'option'`) or watched by a listener of our own (`'listener'`),
   * the idle timeout (`request.setTimeout`) and the connect watch (a `socket` listener).
   */
  const nodeHttp = async ({ signal: how, timeout = false, connectWatch = false } = {}) => {
    const headers = flat(await signed());
    const signal = how ? new AbortController().signal : undefined;
    return new Promise((resolve, reject) => {
      let connecting;
      const request = httpRequest(origin, {
        method: 'POST',
        agent,
        headers,
        signal: how === 'option' ? signal : undefined,
      });
      let onAbort;
      if (how === 'listener') {
        onAbort = () => request.destroy(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
      }
      const settle = () => onAbort && signal.removeEventListener('abort', onAbort);
      if (connectWatch)
        request.once('socket', (socket) => {
          if (!socket.connecting) return;
          connecting = setTimeout(() => request.destroy(new Error('no connection')), 2000);
          socket.once('connect', () => clearTimeout(connecting));
        });
      if (timeout) request.setTimeout(5000, () => request.destroy(new Error('no answer')));
      request.on('error', (error) => {
        clearTimeout(connecting);
        settle();
        reject(error);
      });
      request.once('response', (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('error', reject);
        response.once('end', () => {
          settle();
          resolve({
            status: response.statusCode,
            headers: response.headers,
            text: chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      request.end(body);
    });
  };
  const nodeBare = () => nodeHttp();

  const minimal = new MinimalPool(url.hostname, Number(url.port), CONCURRENCY);
  const minimalClient = async (signal) => {
    const headers = await signed();
    let head = 'POST / HTTP/1.1\r\n';
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    return minimal.request(head, body, signal);
  };

  const contenders = {
    'signing alone (no HTTP)': () => signed(),
    'node:http, keep-alive Agent, bare': nodeBare,
    'node:http + signal option': () => nodeHttp({ signal: 'option' }),
    'node:http + abort listener of our own': () => nodeHttp({ signal: 'listener' }),
    'node:http + request.setTimeout': () => nodeHttp({ timeout: true }),
    'node:http + connect watch': () => nodeHttp({ connectWatch: true }),
    'node:http as the transport does': () => nodeHttp({ signal: 'option', timeout: true, connectWatch: true }),
    'node:http as the transport, own listener': () =>
      nodeHttp({ signal: 'listener', timeout: true, connectWatch: true }),
  };
  let pool;
  if (undici) {
    // The idle timeouts as the transport's (undici's own timers, always on).
    pool = new undici.Pool(url.origin, { connections: CONCURRENCY, headersTimeout: 5000, bodyTimeout: 5000 });
    const undiciRequest = async (signal) => {
      const headers = await signed();
      const {
        statusCode,
        headers: answerHeaders,
        body: stream,
      } = await pool.request({
        path: '/',
        method: 'POST',
        headers,
        body,
        signal,
      });
      return { status: statusCode, headers: answerHeaders, text: await stream.text() };
    };
    const undiciDispatch = async (signal) => {
      const headers = flat(await signed());
      return new Promise((resolve, reject) => {
        const chunks = [];
        let status = 0;
        let answerHeaders;
        let onAbort;
        const settle = () => signal?.removeEventListener('abort', onAbort);
        pool.dispatch(
          { path: '/', method: 'POST', headers, body },
          {
            onRequestStart(controller) {
              if (!signal) return;
              onAbort = () => controller.abort(signal.reason);
              signal.addEventListener('abort', onAbort, { once: true });
            },
            onResponseStart(_controller, statusCode, responseHeaders) {
              status = statusCode;
              answerHeaders = responseHeaders;
            },
            onResponseData(_controller, chunk) {
              chunks.push(chunk);
            },
            onResponseEnd() {
              settle();
              resolve({ status, headers: answerHeaders, text: Buffer.concat(chunks).toString('utf8') });
            },
            onResponseError(_controller, error) {
              settle();
              reject(error);
            },
          },
        );
      });
    };
    contenders['undici Pool request()'] = () => undiciRequest();
    contenders['undici Pool request(), with a signal'] = () => undiciRequest(new AbortController().signal);
    contenders['undici Pool dispatch()'] = () => undiciDispatch();
    contenders['undici Pool dispatch(), with a signal'] = () => undiciDispatch(new AbortController().signal);
  }
  contenders['net.Socket, minimal HTTP/1.1'] = () => minimalClient();
  contenders['net.Socket, minimal, signal + idle timeout'] = () => minimalClient(new AbortController().signal);

  const transport = new LeanDynamoTransport({
    region: 'us-east-1',
    endpoint: engine.endpoint,
    credentials: CREDENTIALS,
    maxAttempts: 3,
    connectionTimeoutMs: 2000,
    requestTimeoutMs: 5000,
    maxSockets: CONCURRENCY,
  });
  const wire = JSON.parse(body);
  contenders['LeanDynamoTransport.call, bare'] = () => transport.call('GetItem', wire);
  const config = loadConfig({
    NODE_ENV: 'development',
    JWT_SECRET: 'http-client-cpu bench secret, 32 bytes at least',
    DYNAMODB_ENDPOINT: engine.endpoint,
    DYNAMODB_CLIENT: 'lean',
  }).dynamo;
  const app = createDocumentClient(createDynamoClient({ ...config, maxConcurrency: CONCURRENCY }));
  contenders["the app's client, DYNAMODB_CLIENT=lean"] = () =>
    app.send(new GetCommand({ TableName: TABLE, Key: { PK: 'POST#1', SK: 'POST' } }));

  const only = process.env.HTTP_CPU_ONLY?.split(',');
  if (only) for (const name in contenders) if (!only.some((part) => name.includes(part))) delete contenders[name];
  // Every HTTP contender reads the item; DynamoDB Local's framing of the answer, for the minimal client.
  for (const [name, task] of Object.entries(contenders)) {
    const answer = await task();
    if (!('text' in answer)) continue;
    if (answer.status !== 200 || JSON.parse(answer.text).Item?.title?.S !== 'A title')
      throw new Error(`${name} read ${answer.status} ${answer.text}`);
  }
  const framingOf = ({ headers }) =>
    headers['transfer-encoding']
      ? `Transfer-Encoding: ${headers['transfer-encoding']}`
      : `Content-Length: ${headers['content-length']}`;
  const bigBody = JSON.stringify({ TableName: TABLE, Key: bigKey });
  const big = await minimal.request(
    Object.entries(await signed(bigBody)).reduce(
      (head, [name, value]) => `${head}${name}: ${value}\r\n`,
      'POST / HTTP/1.1\r\n',
    ),
    bigBody,
  );
  if (JSON.parse(big.text).Item.body.S.length !== 390_000) throw new Error('the minimal client misread a large answer');
  console.log(
    `DynamoDB Local answers with ${framingOf(await nodeBare())} (a 390 KB item: ${framingOf(big)}); Node ${process.version}${undici ? `, undici ${createRequire(resolve(undiciDir, 'package.json'))('undici/package.json').version}` : ''}`,
  );
  console.log(`load average ${loadavg()} at ${new Date().toISOString()}`);

  const runs = await cpuPerCall(contenders, {
    rounds: ROUNDS,
    count: COUNT,
    concurrency: CONCURRENCY,
    alternate: true,
  });
  console.log(`CPU per GetItem (µs), rounds 2-${ROUNDS} of ${ROUNDS}, ${COUNT} calls each at ${CONCURRENCY} callers:`);
  const base = median(runs['node:http, keep-alive Agent, bare'] ?? [0]);
  for (const [name, values] of Object.entries(runs)) {
    const m = median(values);
    console.log(
      `  ${name.padEnd(40)} median ${String(m).padStart(4)}  (${values.join(', ')})  vs node:http bare ${m - base >= 0 ? '+' : ''}${m - base}`,
    );
  }
  console.log(`load average ${loadavg()} at ${new Date().toISOString()}`);
  agent.destroy();
  minimal.destroy();
  await pool?.destroy();
  transport.destroy();
  app.destroy();
}

await runScript(main);
