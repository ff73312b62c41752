import { loadConfig } from '../config/app-config.js';
import { awsClientOptions, isLocalEndpoint } from './dynamo-client.factory.js';

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
