import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DynamoConfig } from '../config/app-config.js';
import { type DynamoCallObserver, installRequestAccounting } from './request-accounting.js';

/**
 * The one DynamoDB client of the process: keep-alive sockets, and explicit connection and
 * request timeouts so that a frozen database yields an error (503) instead of a hung request.
 * `observer` hears of every call (the app's metrics).
 */
export function createDynamoClient(config: DynamoConfig, observer?: DynamoCallObserver): DynamoDBClient {
  const local = config.endpoint !== undefined;
  const client = new DynamoDBClient({
    region: config.region,
    endpoint: config.endpoint,
    maxAttempts: config.maxAttempts,
    // DynamoDB Local accepts any credentials; AWS uses the default provider chain.
    ...(local && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Without this the SDK only logs a warning and keeps waiting on a frozen server.
      throwOnRequestTimeout: true,
      httpAgent: new Agent({ keepAlive: true, maxSockets: 50 }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 50 }),
    }),
  });
  installRequestAccounting(client, observer);
  return client;
}

export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
}
