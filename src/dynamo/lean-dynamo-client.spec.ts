import { getEventListeners } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DescribeExportCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactGetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../config/app-config.js';
import { DatabaseGate } from './database-gate.js';
import { createDocumentClient, createDynamoClient } from './dynamo-client.factory.js';
import { cancellationReasons, isConditionalCheckFailed, translateDynamoError } from './dynamo-errors.js';
import { LeanDocumentClient, LeanDynamoTransport } from './lean-dynamo-client.js';
import { listenLocally } from '../../test/helpers/servers.js';
import { DynamoUsage, runWithUsage } from './request-accounting.js';

interface Received {
  target: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  raw: string;
}

/** What the fake DynamoDB answers: status and body text, or `undefined` to never answer. */
type Reply = (received: Received) => { status: number; body: string; headers?: Record<string, string> } | undefined;

/** A DynamoDB endpoint on a loopback port: records every request and answers with `reply`. */
async function fakeDynamo(reply: Reply) {
  const received: Received[] = [];
  let closedEarly = 0;
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const entry = {
        target: String(request.headers['x-amz-target']).replace('DynamoDB_20120810.', ''),
        headers: request.headers,
        body: JSON.parse(raw) as Record<string, unknown>,
        raw,
      };
      received.push(entry);
      const answer = reply(entry);
      if (!answer) {
        response.on('close', () => (response.writableEnded ? undefined : closedEarly++));
        return;
      }
      response.writeHead(answer.status, {
        'content-type': 'application/x-amz-json-1.0',
        'x-amzn-requestid': `req-${received.length}`,
        ...answer.headers,
      });
      response.end(answer.body);
    });
  });
  const listening = await listenLocally(server);
  return {
    endpoint: listening.url,
    received,
    closedEarly: () => closedEarly,
    close: () => listening.close(),
  };
}

type Fake = Awaited<ReturnType<typeof fakeDynamo>>;

const configFor = (endpoint: string, client: 'lean' | 'sdk', env: Record<string, string> = {}) =>
  loadConfig({
    NODE_ENV: 'test',
    JWT_SECRET: 'lean dynamo client spec secret of 32+ bytes',
    DYNAMODB_ENDPOINT: endpoint,
    DYNAMODB_CLIENT: client,
    ...env,
  }).dynamo;

const withCapacity = (body: object) => JSON.stringify(body);

const binary = new Uint8Array([0, 1, 2, 250, 255]);
const nativeItem = {
  PK: 'POST#1',
  SK: 'POST',
  title: 'A title',
  empty: '',
  count: 42,
  ratio: 0.5,
  flag: true,
  nothing: null,
  gone: undefined,
  tags: ['a', 'b'],
  nested: { deep: { n: 1, s: 'x', list: [1, 'two', { three: 3 }] } },
  names: new Set(['x', 'y']),
  numbers: new Set([1, 2]),
  data: binary,
};
const wireItem = {
  PK: { S: 'POST#2' },
  SK: { S: 'POST' },
  title: { S: 'Another' },
  count: { N: '7' },
  big: { N: '12345678901' },
  flag: { BOOL: false },
  nothing: { NULL: true },
  tags: { L: [{ S: 'a' }, { N: '2' }] },
  nested: { M: { deep: { M: { s: { S: 'x' } } } } },
  names: { SS: ['x', 'y'] },
  numbers: { NS: ['1', '2.5'] },
  data: { B: Buffer.from(binary).toString('base64') },
  datas: { BS: [Buffer.from(binary).toString('base64')] },
};
const key = { PK: 'POST#1', SK: 'POST' };
const wireKey = { PK: { S: 'POST#9' }, SK: { S: 'POST' } };
const capacity = { TableName: 't', CapacityUnits: 1.5, ReadCapacityUnits: 1.5 };

/** Every data-plane command: a fresh command (the accounting writes into its input) and a wire answer. */
const CASES: { name: string; command: () => object; answer: object }[] = [
  {
    name: 'GetItem',
    command: () => new GetCommand({ TableName: 't', Key: key, ConsistentRead: true, ProjectionExpression: '#t' }),
    answer: { Item: wireItem, ConsumedCapacity: capacity },
  },
  {
    name: 'PutItem',
    command: () =>
      new PutCommand({
        TableName: 't',
        Item: nativeItem,
        ConditionExpression: 'attribute_not_exists(PK) OR #c < :c',
        ExpressionAttributeNames: { '#c': 'count' },
        ExpressionAttributeValues: { ':c': 10, ':gone': undefined },
        ReturnValues: 'ALL_OLD',
      }),
    answer: { Attributes: wireItem, ConsumedCapacity: { TableName: 't', CapacityUnits: 3 } },
  },
  {
    name: 'UpdateItem',
    command: () =>
      new UpdateCommand({
        TableName: 't',
        Key: key,
        UpdateExpression: 'SET #t = :t ADD #n :one',
        ExpressionAttributeNames: { '#t': 'title', '#n': 'count' },
        ExpressionAttributeValues: { ':t': 'New', ':one': 1, ':list': [{ a: 1 }], ':set': new Set(['s']) },
        ReturnValues: 'ALL_NEW',
      }),
    answer: { Attributes: wireItem },
  },
  {
    name: 'DeleteItem',
    command: () =>
      new DeleteCommand({
        TableName: 't',
        Key: key,
        ConditionExpression: 'attribute_exists(PK)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    answer: {},
  },
  {
    name: 'Query',
    command: () =>
      new QueryCommand({
        TableName: 't',
        IndexName: 'GSI1',
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :sk)',
        ExpressionAttributeValues: { ':pk': 'POST#1', ':sk': 'COMMENT#' },
        ExclusiveStartKey: { PK: 'POST#1', SK: 'COMMENT#1' },
        Limit: 20,
        ScanIndexForward: false,
      }),
    answer: { Items: [wireItem, { PK: { S: 'x' } }], Count: 2, ScannedCount: 3, LastEvaluatedKey: wireKey },
  },
  {
    name: 'Scan',
    command: () =>
      new ScanCommand({
        TableName: 't',
        FilterExpression: 'n > :n',
        ExpressionAttributeValues: { ':n': 1 },
        Segment: 0,
        TotalSegments: 2,
      }),
    answer: { Items: [], Count: 0, ScannedCount: 0 },
  },
  {
    name: 'BatchGetItem',
    command: () =>
      new BatchGetCommand({
        RequestItems: { t: { Keys: [key, { PK: 'USER#1', SK: 'USER' }], ProjectionExpression: 'PK, title' } },
      }),
    answer: {
      Responses: { t: [wireItem] },
      UnprocessedKeys: { t: { Keys: [wireKey], ProjectionExpression: 'PK, title' } },
      ConsumedCapacity: [{ TableName: 't', CapacityUnits: 1 }],
    },
  },
  {
    name: 'BatchWriteItem',
    command: () =>
      new BatchWriteCommand({
        RequestItems: { t: [{ PutRequest: { Item: nativeItem } }, { DeleteRequest: { Key: key } }] },
      }),
    answer: { UnprocessedItems: { t: [{ PutRequest: { Item: wireItem } }, { DeleteRequest: { Key: wireKey } }] } },
  },
  {
    name: 'TransactGetItems',
    command: () =>
      new TransactGetCommand({
        TransactItems: [{ Get: { TableName: 't', Key: key } }, { Get: { TableName: 't', Key: { PK: 'X', SK: 'Y' } } }],
      }),
    answer: { Responses: [{ Item: wireItem }, {}], ConsumedCapacity: [capacity] },
  },
  {
    name: 'TransactWriteItems',
    command: () =>
      new TransactWriteCommand({
        ClientRequestToken: 'fixed-token',
        TransactItems: [
          { Put: { TableName: 't', Item: nativeItem, ConditionExpression: 'attribute_not_exists(PK)' } },
          {
            Update: {
              TableName: 't',
              Key: key,
              UpdateExpression: 'ADD n :one',
              ExpressionAttributeValues: { ':one': 1 },
            },
          },
          { Delete: { TableName: 't', Key: key } },
          {
            ConditionCheck: {
              TableName: 't',
              Key: key,
              ConditionExpression: 'v = :v',
              ExpressionAttributeValues: { ':v': 'x' },
            },
          },
        ],
      }),
    answer: { ConsumedCapacity: [{ TableName: 't', CapacityUnits: 8, WriteCapacityUnits: 8 }] },
  },
];

describe('lean DynamoDB client', () => {
  let fake: Fake;
  const answers = new Map<string, object>();
  let sdk: { base: DynamoDBClient; db: DynamoDBDocumentClient };
  let lean: { base: DynamoDBClient; db: DynamoDBDocumentClient };

  beforeAll(async () => {
    fake = await fakeDynamo(({ target }) => ({ status: 200, body: withCapacity(answers.get(target) ?? {}) }));
    const make = (kind: 'lean' | 'sdk') => {
      const base = createDynamoClient(configFor(fake.endpoint, kind));
      return { base, db: createDocumentClient(base) };
    };
    sdk = make('sdk');
    lean = make('lean');
  });
  afterAll(async () => {
    sdk.base.destroy();
    lean.base.destroy();
    await fake.close();
  });

  it('is what createDocumentClient gives with DYNAMODB_CLIENT=lean, and the SDK document client with sdk', () => {
    expect(lean.db).toBeInstanceOf(LeanDocumentClient);
    expect(sdk.db).not.toBeInstanceOf(LeanDocumentClient);
  });

  it.each(CASES)(
    '$name: the same wire request and the same answer as lib-dynamodb',
    async ({ name, command, answer }) => {
      answers.set(name, answer);
      fake.received.length = 0;
      const fromSdk = (await sdk.db.send(command() as never)) as Record<string, unknown>;
      const fromLean = (await lean.db.send(command() as never)) as Record<string, unknown>;
      expect(fake.received.map((r) => r.target)).toEqual([name, name]);
      const [sdkWire, leanWire] = fake.received;
      expect(leanWire.body).toEqual(sdkWire.body);
      expect(leanWire.body.ReturnConsumedCapacity).toBe('TOTAL');
      expect(leanWire.headers['content-type']).toBe(sdkWire.headers['content-type']);
      const { $metadata: sdkMeta, ...sdkOutput } = fromSdk;
      const { $metadata: leanMeta, ...leanOutput } = fromLean;
      expect(leanOutput).toEqual(sdkOutput);
      expect(leanMeta).toMatchObject({
        httpStatusCode: 200,
        requestId: (sdkMeta as { requestId: string }).requestId.replace(/\d+$/, '2'),
        attempts: 1,
      });
    },
  );

  it('binary sets on their own (no single binary beside them): base64 on the wire both ways, as lib-dynamodb', async () => {
    const other = new Uint8Array([9]);
    answers.set('PutItem', {});
    answers.set('GetItem', {
      Item: { PK: { S: 'BIN#1' }, bins: { BS: [Buffer.from(binary).toString('base64'), 'CQ=='] } },
    });
    fake.received.length = 0;
    for (const db of [sdk.db, lean.db]) {
      await db.send(
        new PutCommand({ TableName: 't', Item: { PK: 'BIN#1', SK: 'BIN', bins: new Set([binary, other]) } }),
      );
    }
    const [sdkWire, leanWire] = fake.received;
    expect(leanWire.body).toEqual(sdkWire.body);
    expect(leanWire.body.Item).toMatchObject({ bins: { BS: [Buffer.from(binary).toString('base64'), 'CQ=='] } });
    const read = (db: DynamoDBDocumentClient) => db.send(new GetCommand({ TableName: 't', Key: key }));
    const [fromSdk, fromLean] = [await read(sdk.db), await read(lean.db)];
    expect(fromLean.Item).toEqual(fromSdk.Item);
    expect(fromLean.Item?.bins).toEqual(new Set([binary, other]));
  });

  it('gives a transaction an idempotency token, the same one on every attempt', async () => {
    let calls = 0;
    const flaky = await fakeDynamo(() =>
      ++calls === 1
        ? { status: 500, body: '{"__type":"InternalServerError","message":"oops"}' }
        : { status: 200, body: '{}' },
    );
    const base = createDynamoClient(configFor(flaky.endpoint, 'lean'));
    try {
      const command = CASES.find((c) => c.name === 'TransactWriteItems')!.command() as TransactWriteCommand;
      delete command.input.ClientRequestToken;
      await createDocumentClient(base).send(command);
      const [first, second] = flaky.received.map((r) => r.body.ClientRequestToken);
      expect(first).toMatch(/^[0-9a-f-]{36}$/);
      expect(second).toBe(first);
    } finally {
      base.destroy();
      await flaky.close();
    }
  });

  it('signs each request as the SDK does (same SigV4 signature for the same request and date)', async () => {
    fake.received.length = 0;
    await sdk.base.send(new GetItemCommand({ TableName: 't', Key: wireKey }));
    await lean.db.send(new GetCommand({ TableName: 't', Key: { PK: 'POST#9', SK: 'POST' } }));
    const [fromSdk, fromLean] = fake.received;
    for (const header of ['content-type', 'x-amz-target', 'host', 'content-length', 'x-amz-content-sha256']) {
      expect([header, fromLean.headers[header]]).toEqual([header, fromSdk.headers[header]]);
    }
    expect(fromLean.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=local\/\d{8}\/us-east-1\/dynamodb\/aws4_request, SignedHeaders=[a-z0-9;-]*host;[a-z0-9;-]*x-amz-date[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(fromLean.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);

    // The SDK's request again, signed by ours at the SDK's date: the same signature.
    const amzDate = String(fromSdk.headers['x-amz-date']);
    const date = new Date(
      `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
    );
    const transport = new LeanDynamoTransport({
      region: 'us-east-1',
      endpoint: fake.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      maxSockets: 1,
      signingDate: () => date,
    });
    const sdkSigned = Object.fromEntries(
      Object.entries(fromSdk.headers).filter(
        ([name]) => !['authorization', 'x-amz-date', 'x-amz-content-sha256', 'connection', 'user-agent'].includes(name),
      ),
    ) as Record<string, string>;
    const ours = await transport.signedHeaders('GetItem', fromSdk.raw, sdkSigned);
    transport.destroy();
    expect(ours.authorization).toBe(fromSdk.headers.authorization);
  });

  it('temporary credentials: the session token is sent and signed; a refreshed provider signs the next attempt', async () => {
    let calls = 0;
    const flaky = await fakeDynamo(() =>
      ++calls === 1 ? { status: 500, body: '{"__type":"InternalServerError"}' } : { status: 200, body: '{}' },
    );
    let provided = 0;
    const transport = new LeanDynamoTransport({
      region: 'us-east-1',
      endpoint: flaky.endpoint,
      // As the SDK's chain does when the first keys expire: the next call of the provider has new ones.
      credentials: () => {
        provided++;
        return Promise.resolve({
          accessKeyId: `ASIA${provided}`,
          secretAccessKey: 's',
          sessionToken: `token-${provided}`,
        });
      },
      maxAttempts: 2,
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      maxSockets: 1,
      random: () => 0,
    });
    try {
      await transport.call('GetItem', { TableName: 't', Key: wireKey });
      const [first, second] = flaky.received.map((r) => r.headers);
      expect(first['x-amz-security-token']).toBe('token-1');
      expect(String(first.authorization)).toMatch(/Credential=ASIA1\/.*SignedHeaders=[a-z0-9;-]*x-amz-security-token/);
      expect(second['x-amz-security-token']).toBe('token-2');
      expect(String(second.authorization)).toMatch(/^AWS4-HMAC-SHA256 Credential=ASIA2\//);
    } finally {
      transport.destroy();
      await flaky.close();
    }
  });

  it('sends any other command through the SDK', async () => {
    answers.set('DescribeExport', { ExportDescription: { ExportArn: 'arn' } });
    fake.received.length = 0;
    const out = await lean.db.send(new DescribeExportCommand({ ExportArn: 'arn' }));
    expect(out.ExportDescription?.ExportArn).toBe('arn');
    expect(fake.received[0].headers['amz-sdk-invocation-id']).toBeDefined(); // the SDK's own header
  });

  it('accounts calls, capacity and command names per request as the SDK path does', async () => {
    answers.set('GetItem', { Item: wireItem, ConsumedCapacity: { TableName: 't', CapacityUnits: 0.5 } });
    answers.set('TransactWriteItems', { ConsumedCapacity: [{ TableName: 't', CapacityUnits: 8 }] });
    const usageOf = async (db: DynamoDBDocumentClient) => {
      const usage = new DynamoUsage();
      await runWithUsage(usage, async () => {
        await db.send(new GetCommand({ TableName: 't', Key: key }));
        await db.send(CASES.find((c) => c.name === 'TransactWriteItems')!.command() as TransactWriteCommand);
      });
      return { calls: usage.calls, rcu: usage.readCapacity, wcu: usage.writeCapacity, commands: usage.commands };
    };
    const fromLean = await usageOf(lean.db);
    expect(fromLean).toEqual({ calls: 2, rcu: 0.5, wcu: 8, commands: ['GetItem', 'TransactWriteItems'] });
    expect(fromLean).toEqual(await usageOf(sdk.db));
  });
});

describe('lean DynamoDB client: failures', () => {
  const ccf = {
    __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
    message: 'The conditional request failed',
    Item: { PK: { S: 'POST#1' } },
  };
  const cancelled = {
    __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
    Message:
      'Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]',
    CancellationReasons: [
      { Code: 'None' },
      { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed', Item: { PK: { S: 'x' } } },
    ],
  };
  const throttled = {
    __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message: 'The level of configured provisioned throughput for the table was exceeded.',
  };
  const invalid = {
    __type: 'com.amazon.coral.validate#ValidationException',
    message: 'One or more parameter values were invalid',
  };

  /** The error of one GetItem through each client against a fake that always answers `status`/`body`. */
  async function failures(status: number, body: object, env: Record<string, string> = {}) {
    const fake = await fakeDynamo(() => ({ status, body: JSON.stringify(body) }));
    const errors: Record<string, unknown> = {};
    const hits: Record<string, number> = {};
    try {
      for (const kind of ['sdk', 'lean'] as const) {
        const base = createDynamoClient(configFor(fake.endpoint, kind, env));
        const before = fake.received.length;
        errors[kind] = await createDocumentClient(base)
          .send(new GetCommand({ TableName: 't', Key: key }))
          .catch((error: unknown) => error);
        hits[kind] = fake.received.length - before;
        base.destroy();
      }
    } finally {
      await fake.close();
    }
    return { sdk: errors.sdk as Record<string, unknown>, lean: errors.lean as Record<string, unknown>, hits };
  }

  const shape = (error: Record<string, unknown>) => ({
    name: error.name,
    message: error.message,
    $fault: error.$fault,
    status: (error.$metadata as { httpStatusCode?: number }).httpStatusCode,
    attempts: (error.$metadata as { attempts?: number }).attempts,
    Item: error.Item,
    CancellationReasons: error.CancellationReasons,
  });

  it('a failed condition: the same error as the SDK, not retried', async () => {
    const { sdk, lean, hits } = await failures(400, ccf);
    expect(shape(lean)).toEqual(shape(sdk));
    expect(lean).toBeInstanceOf(Error);
    expect(shape(lean)).toMatchObject({
      name: 'ConditionalCheckFailedException',
      $fault: 'client',
      status: 400,
      attempts: 1,
    });
    expect(isConditionalCheckFailed(lean)).toBe(true);
    expect(translateDynamoError(lean)).toBeUndefined();
    expect(hits).toEqual({ sdk: 1, lean: 1 });
  });

  it('a cancelled transaction: the same reasons as the SDK', async () => {
    const { sdk, lean } = await failures(400, cancelled);
    expect(shape(lean)).toEqual(shape(sdk));
    expect(cancellationReasons(lean).map((reason) => reason.code)).toEqual(['None', 'ConditionalCheckFailed']);
  });

  it('a validation error is not retried and stays a client error', async () => {
    const { sdk, lean, hits } = await failures(400, invalid);
    expect(shape(lean)).toEqual(shape(sdk));
    expect(lean.name).toBe('ValidationException');
    expect(hits).toEqual({ sdk: 1, lean: 1 });
    expect(translateDynamoError(lean)).toBeUndefined();
  });

  it('a server error is retried up to DYNAMODB_MAX_ATTEMPTS, as the SDK does', async () => {
    const { sdk, lean, hits } = await failures(
      500,
      { __type: 'InternalServerError', message: 'Internal error' },
      { DYNAMODB_MAX_ATTEMPTS: '2' },
    );
    expect(shape(lean)).toEqual(shape(sdk));
    expect(shape(lean)).toMatchObject({ $fault: 'server', status: 500, attempts: 2 });
    expect(hits).toEqual({ sdk: 2, lean: 2 });
  });

  it('throttling is retried with backoff, then answers as the database being busy (503 database_throttled)', async () => {
    const fake = await fakeDynamo(() => ({ status: 400, body: JSON.stringify(throttled) }));
    const delays: number[] = [];
    const transport = new LeanDynamoTransport({
      region: 'us-east-1',
      endpoint: fake.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 3,
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      maxSockets: 1,
      random: () => {
        delays.push(delays.length);
        return 0.01;
      },
    });
    try {
      const error = (await transport
        .call('GetItem', { TableName: 't', Key: wireKey })
        .catch((e: unknown) => e)) as Record<string, unknown>;
      expect(fake.received).toHaveLength(3);
      expect(delays).toHaveLength(2);
      expect(error.name).toBe('ProvisionedThroughputExceededException');
      expect((error.$metadata as { attempts: number; totalRetryDelay: number }).attempts).toBe(3);
      // Full jitter over the throttling base (1 s, then 2 s), at 1 %: 10 and 20 ms.
      expect((error.$metadata as { totalRetryDelay: number }).totalRetryDelay).toBe(30);
      expect(translateDynamoError(error)).toMatchObject({ failure: 'throttled' });
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  it('retries that succeed cost no quota, as the SDK: 200 calls each throttled once all succeed', async () => {
    // Every odd request is throttled, every even one answers: each call needs exactly one retry.
    let requests = 0;
    const fake = await fakeDynamo(() =>
      ++requests % 2 === 1 ? { status: 400, body: JSON.stringify(throttled) } : { status: 200, body: '{}' },
    );
    const transport = new LeanDynamoTransport({
      region: 'us-east-1',
      endpoint: fake.endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 3,
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      maxSockets: 1,
      random: () => 0,
    });
    try {
      const full = transport.retryQuota;
      expect(full).toBe(500);
      for (let i = 0; i < 200; i++) {
        const output = await transport.call('GetItem', { TableName: 't', Key: wireKey });
        expect(output.$metadata.attempts).toBe(2);
      }
      expect(fake.received).toHaveLength(400);
      expect(transport.retryQuota).toBe(full);
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  it.each([
    // DynamoDB's words for each side; "not yet current" is retried only because the clock was corrected.
    {
      clock: 'slow',
      ahead: 10 * 60_000,
      message: 'Signature expired: 20261127T100000Z is now earlier than 20261127T100500Z',
    },
    {
      clock: 'fast',
      ahead: -10 * 60_000,
      message: 'Signature not yet current: 20261127T102000Z is still later than 20261127T101500Z',
    },
  ])(
    "a host clock 10 minutes $clock: the refusal's Date corrects the signing clock, and the retry gets through",
    async ({ ahead, message }) => {
      const fake = await fakeDynamo(({ headers }) => {
        const signedAt = Date.parse(
          String(headers['x-amz-date']).replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'),
        );
        const serverNow = Date.now() + ahead;
        // As DynamoDB: a signature more than 5 minutes off the server's clock is refused.
        return Math.abs(serverNow - signedAt) > 300_000
          ? {
              status: 400,
              body: JSON.stringify({
                __type: 'com.amazon.coral.service#InvalidSignatureException',
                message,
              }),
              headers: { date: new Date(serverNow).toUTCString() },
            }
          : { status: 200, body: '{}', headers: { date: new Date(serverNow).toUTCString() } };
      });
      const transport = quick(fake.endpoint, { maxAttempts: 3 });
      try {
        const first = await transport.call('GetItem', { TableName: 't', Key: wireKey });
        expect(first.$metadata.attempts).toBe(2);
        // Corrected once: the next call signs at the server's time on its first attempt.
        const second = await transport.call('GetItem', { TableName: 't', Key: wireKey });
        expect(second.$metadata.attempts).toBe(1);
        expect(fake.received).toHaveLength(3);
      } finally {
        transport.destroy();
        await fake.close();
      }
    },
  );

  /** A lean transport on `endpoint` without backoff delays. */
  const quick = (endpoint: string, extra: { maxAttempts?: number; maxResponseBytes?: number } = {}) =>
    new LeanDynamoTransport({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 2,
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      maxSockets: 1,
      random: () => 0,
      ...extra,
    });

  it('a 2xx body that is not JSON (a proxy page, a cut body): retried, then 503 database_unavailable', async () => {
    let requests = 0;
    const fake = await fakeDynamo(() =>
      ++requests === 1 ? { status: 200, body: '<html>Bad gateway</html>' } : { status: 200, body: '{"Item":' },
    );
    const transport = quick(fake.endpoint);
    try {
      const error = (await transport
        .call('GetItem', { TableName: 't', Key: wireKey })
        .catch((e: unknown) => e)) as Record<string, unknown>;
      expect(error).toBeInstanceOf(Error);
      expect(error).toMatchObject({
        name: 'InvalidResponseException',
        $fault: 'server',
        $metadata: { httpStatusCode: 200, attempts: 2 },
      });
      expect(fake.received).toHaveLength(2);
      expect(translateDynamoError(error)).toMatchObject({ failure: 'unavailable' });
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  it('a 2xx body that is not JSON, then a good answer: the retry gets it', async () => {
    let requests = 0;
    const fake = await fakeDynamo(() =>
      ++requests === 1 ? { status: 200, body: 'null' } : { status: 200, body: '{"Item":{"PK":{"S":"a"}}}' },
    );
    const transport = quick(fake.endpoint);
    try {
      const output = await transport.call('GetItem', { TableName: 't', Key: wireKey });
      expect(output).toMatchObject({ Item: { PK: { S: 'a' } }, $metadata: { attempts: 2 } });
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  it('an answer past the size cap is cut, not read whole: 503 database_unavailable, not retried', async () => {
    const fake = await fakeDynamo(() => ({
      status: 200,
      body: JSON.stringify({ Item: { b: { S: 'x'.repeat(4096) } } }),
    }));
    const transport = quick(fake.endpoint, { maxResponseBytes: 1024 });
    try {
      const error = await transport.call('GetItem', { TableName: 't', Key: wireKey }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'ResponseTooLargeException', $metadata: { httpStatusCode: 200 } });
      expect(fake.received).toHaveLength(1);
      expect(translateDynamoError(error)).toMatchObject({ failure: 'unavailable' });
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  /** A lean document client on `endpoint` behind a gate of `budgetMs`. */
  const gated = (endpoint: string, budgetMs: number, random?: () => number) => {
    const transport = new LeanDynamoTransport({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 3,
      connectionTimeoutMs: 1000,
      // Longer than the gate's budget: only the gate can end the attempt.
      requestTimeoutMs: 10_000,
      maxSockets: 1,
      random,
    });
    const gate = new DatabaseGate({ maxConcurrency: 1, maxQueue: 1, budgetMs });
    const client = new LeanDocumentClient({
      transport,
      gate,
      observer: undefined,
      hooks: [],
      fallback: undefined as never,
    });
    return { transport, gate, client };
  };

  it("the gate's deadline aborts the socket of a call in flight", async () => {
    const fake = await fakeDynamo(() => undefined);
    const { transport, gate, client } = gated(fake.endpoint, 300);
    try {
      const started = performance.now();
      await expect(client.send(new GetCommand({ TableName: 't', Key: key }))).rejects.toMatchObject({
        failure: 'timeout',
      });
      expect(performance.now() - started).toBeLessThan(2000);
      for (let i = 0; i < 50 && fake.closedEarly() === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(fake.closedEarly()).toBe(1);
      expect(fake.received).toHaveLength(1);
      expect(gate.limiter.active).toBe(0);
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  it("the gate's deadline aborts a backoff sleep: no attempt after it", async () => {
    const fake = await fakeDynamo(() => ({ status: 400, body: JSON.stringify(throttled) }));
    // A full second of backoff after the first throttled attempt, in a budget of 200 ms.
    const { transport, gate, client } = gated(fake.endpoint, 200, () => 1);
    try {
      const started = performance.now();
      await expect(client.send(new GetCommand({ TableName: 't', Key: key }))).rejects.toMatchObject({
        failure: 'timeout',
      });
      expect(performance.now() - started).toBeLessThan(900);
      // The sleep was cut: the call settled and freed its slot well before its second attempt was due.
      for (let i = 0; i < 50 && gate.limiter.active > 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(gate.limiter.active).toBe(0);
      await new Promise((r) => setTimeout(r, 1100));
      expect(fake.received).toHaveLength(1);
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  it("every attempt takes its listener off the call's signal when it settles: answered, refused, retried, cut", async () => {
    let requests = 0;
    const fake = await fakeDynamo(() => {
      requests++;
      if (requests === 1) return { status: 500, body: JSON.stringify({ __type: 'InternalServerError' }) };
      if (requests === 2) return { status: 200, body: '{"Item":{"PK":{"S":"a"}}}' };
      if (requests === 3) return { status: 400, body: JSON.stringify(invalid) };
      return { status: 200, body: JSON.stringify({ Item: { b: { S: 'x'.repeat(4096) } } }) };
    });
    const transport = quick(fake.endpoint, { maxResponseBytes: 1024 });
    const { signal } = new AbortController();
    try {
      // A 500 then an answer (two attempts), a refusal, an answer past the size cap.
      await expect(transport.call('GetItem', { TableName: 't', Key: wireKey }, signal)).resolves.toMatchObject({
        $metadata: { attempts: 2 },
      });
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      await expect(transport.call('GetItem', { TableName: 't', Key: wireKey }, signal)).rejects.toMatchObject({
        name: 'ValidationException',
      });
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      await expect(transport.call('GetItem', { TableName: 't', Key: wireKey }, signal)).rejects.toMatchObject({
        name: 'ResponseTooLargeException',
      });
      expect(getEventListeners(signal, 'abort')).toHaveLength(0);
      expect(fake.received).toHaveLength(4);
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  it('a call whose signal has already ended sends nothing: an AbortError (a timeout), its reason as cause', async () => {
    const fake = await fakeDynamo(() => ({ status: 200, body: '{}' }));
    const transport = quick(fake.endpoint);
    const controller = new AbortController();
    const reason = new Error('deadline');
    controller.abort(reason);
    try {
      const error = await transport
        .call('GetItem', { TableName: 't', Key: wireKey }, controller.signal)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR', cause: reason });
      expect(translateDynamoError(error)).toMatchObject({ failure: 'timeout' });
      await new Promise((r) => setTimeout(r, 50));
      expect(fake.received).toHaveLength(0);
    } finally {
      transport.destroy();
      await fake.close();
    }
  });

  it('an engine that is not there: a connection failure (503 database_unavailable), retried first', async () => {
    const fake = await fakeDynamo(() => undefined);
    const endpoint = fake.endpoint;
    await fake.close();
    const base = createDynamoClient(configFor(endpoint, 'lean', { DYNAMODB_MAX_ATTEMPTS: '2' }));
    try {
      const error = await createDocumentClient(base)
        .send(new GetCommand({ TableName: 't', Key: key }))
        .catch((e: unknown) => e);
      expect(translateDynamoError(error)).toMatchObject({ failure: 'unavailable' });
    } finally {
      base.destroy();
    }
  });
});
