import { createServer } from 'node:http';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { loadConfig } from '../config/app-config.js';
import { listenLocally } from '../../test/helpers/servers.js';
import {
  awsClientOptions,
  createDocumentClient,
  createDynamoClient,
  isLocalEndpoint,
  leanTransportOf,
} from './dynamo-client.factory.js';

const dynamoConfig = (env: Record<string, string>) =>
  loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'dynamo client factory spec secret of 32+ bytes', ...env }).dynamo;

describe('awsClientOptions: fake credentials for DynamoDB Local only', () => {
  const saved = process.env.AWS_ACCESS_KEY_ID;
  beforeEach(() => delete process.env.AWS_ACCESS_KEY_ID);
  afterAll(() => {
    if (saved === undefined) delete process.env.AWS_ACCESS_KEY_ID;
    else process.env.AWS_ACCESS_KEY_ID = saved;
  });

  it.each([
    'http://localhost:8000',
    'http://127.0.0.1:41234',
    'http://[::1]:8000',
    // docker-compose.yml's service name, and the README's dynamodb-local.
    'http://dynamodb:8000',
    'http://dynamodb-local:8000',
  ])('%s (DynamoDB Local) gets the fake local credentials', (endpoint) => {
    expect(isLocalEndpoint(endpoint)).toBe(true);
    expect(awsClientOptions(dynamoConfig({ DYNAMODB_ENDPOINT: endpoint })).credentials).toEqual({
      accessKeyId: 'local',
      secretAccessKey: 'local',
    });
  });

  it.each([
    'https://dynamodb-fips.us-east-1.amazonaws.com',
    'https://dynamodb.us-east-1.api.aws',
    'https://vpce-0a1b2c3d-abcd.dynamodb.us-east-1.vpce.amazonaws.com',
    'https://dynamodb.cn-north-1.amazonaws.com.cn',
    'http://dynamodb.us-east-1.amazonaws.com',
    'https://dynamodb.internal.example.com',
  ])('%s (AWS, or TLS) keeps the default chain (task role, instance profile)', (endpoint) => {
    expect(isLocalEndpoint(endpoint)).toBe(false);
    const options = awsClientOptions(dynamoConfig({ DYNAMODB_ENDPOINT: endpoint }));
    expect(options.endpoint).toBe(endpoint);
    expect(options.credentials).toBeUndefined();
  });

  it('no endpoint (AWS): the default chain', () => {
    expect(awsClientOptions(dynamoConfig({ DYNAMODB_EMBEDDED: 'false' })).credentials).toBeUndefined();
  });

  it('AWS keys in the environment win over the fake ones, even for DynamoDB Local', () => {
    process.env.AWS_ACCESS_KEY_ID = 'AKIDEXAMPLE';
    expect(awsClientOptions(dynamoConfig({ DYNAMODB_ENDPOINT: 'http://localhost:8000' })).credentials).toBeUndefined();
  });
});

describe('the lean transport sends where the SDK client would', () => {
  const variables = [
    'AWS_ENDPOINT_URL',
    'AWS_ENDPOINT_URL_DYNAMODB',
    'AWS_USE_FIPS_ENDPOINT',
    'AWS_USE_DUALSTACK_ENDPOINT',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
  ];
  const saved = Object.fromEntries(variables.map((name) => [name, process.env[name]]));
  afterEach(() => {
    for (const name of variables) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  /** The URL of the lean transport of a client made with `env` (AWS: no DYNAMODB_ENDPOINT). */
  async function leanEndpoint(env: Record<string, string>, processEnv: Record<string, string> = {}) {
    for (const name of variables) delete process.env[name];
    Object.assign(process.env, processEnv);
    const client = createDynamoClient(dynamoConfig({ DYNAMODB_EMBEDDED: 'false', DYNAMODB_CLIENT: 'lean', ...env }));
    try {
      return await leanTransportOf(client)!.endpoint();
    } finally {
      client.destroy();
    }
  }

  it('the region: us-east-1 on amazonaws.com, cn-north-1 on amazonaws.com.cn', async () => {
    expect(await leanEndpoint({ AWS_REGION: 'cn-north-1' })).toBe('https://dynamodb.cn-north-1.amazonaws.com.cn/');
    expect(await leanEndpoint({ AWS_REGION: 'us-east-1' })).toBe('https://dynamodb.us-east-1.amazonaws.com/');
  });

  it('AWS_USE_FIPS_ENDPOINT and AWS_USE_DUALSTACK_ENDPOINT', async () => {
    expect(await leanEndpoint({ AWS_REGION: 'us-east-1' }, { AWS_USE_FIPS_ENDPOINT: 'true' })).toBe(
      'https://dynamodb-fips.us-east-1.amazonaws.com/',
    );
    expect(await leanEndpoint({ AWS_REGION: 'eu-west-1' }, { AWS_USE_DUALSTACK_ENDPOINT: 'true' })).toBe(
      'https://dynamodb.eu-west-1.api.aws/',
    );
  });

  it('AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL; DYNAMODB_ENDPOINT wins over both', async () => {
    expect(await leanEndpoint({}, { AWS_ENDPOINT_URL: 'http://localstack:4566' })).toBe('http://localstack:4566/');
    expect(
      await leanEndpoint(
        {},
        { AWS_ENDPOINT_URL: 'http://localstack:4566', AWS_ENDPOINT_URL_DYNAMODB: 'http://ddb.localstack:4566' },
      ),
    ).toBe('http://ddb.localstack:4566/');
    expect(
      await leanEndpoint(
        { DYNAMODB_ENDPOINT: 'http://localhost:8000' },
        { AWS_ENDPOINT_URL_DYNAMODB: 'http://ddb.localstack:4566', AWS_ENDPOINT_URL: 'http://localstack:4566' },
      ),
    ).toBe('http://localhost:8000/');
  });

  it('item calls reach the endpoint of AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const targets: string[] = [];
    const server = createServer((request, response) => {
      targets.push(String(request.headers['x-amz-target']));
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{}'));
    });
    const listening = await listenLocally(server);
    for (const name of variables) delete process.env[name];
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: listening.url,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    const client = createDynamoClient(dynamoConfig({ DYNAMODB_EMBEDDED: 'false', DYNAMODB_CLIENT: 'lean' }));
    try {
      await createDocumentClient(client).send(new GetCommand({ TableName: 't', Key: { PK: 'a', SK: 'b' } }));
      expect(targets).toEqual(['DynamoDB_20120810.GetItem']);
    } finally {
      client.destroy();
      await listening.close();
    }
  });
});
