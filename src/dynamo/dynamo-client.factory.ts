import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DynamoConfig } from '../config/app-config.js';
import { DatabaseGate } from './database-gate.js';
import { type DynamoCallObserver, installRequestAccounting } from './request-accounting.js';

/**
 * Region, endpoint, attempts and credentials of any AWS client on the configured DynamoDB (this
 * client, the Streams client): DynamoDB Local accepts any credentials; AWS uses the default chain.
 */
export function awsClientOptions(config: DynamoConfig) {
  const local = config.endpoint !== undefined;
  return {
    region: config.region,
    endpoint: config.endpoint,
    maxAttempts: config.maxAttempts,
    ...(local && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  };
}

const gates = new WeakMap<DynamoDBClient, DatabaseGate>();

/**
 * The one DynamoDB client of the process: keep-alive sockets, explicit connection and request
 * timeouts, and a `DatabaseGate` on `send` (one deadline per call, retries included, and bounded
 * concurrency with a queue), so that a frozen or swamped database yields a 503 in time instead
 * of a hung request. `observer` hears of every call (the app's metrics).
 */
export function createDynamoClient(config: DynamoConfig, observer?: DynamoCallObserver): DynamoDBClient {
  const client = new DynamoDBClient({
    ...awsClientOptions(config),
    requestHandler: new NodeHttpHandler({
      connectionTimeout: config.connectionTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      // Without this the SDK only logs a warning and keeps waiting on a frozen server.
      throwOnRequestTimeout: true,
      // The gate bounds calls in flight, so sockets never queue inside the agent.
      httpAgent: new Agent({ keepAlive: true, maxSockets: config.maxConcurrency }),
      httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: config.maxConcurrency }),
    }),
  });
  installRequestAccounting(client, observer);
  const gate = new DatabaseGate({
    maxConcurrency: config.maxConcurrency,
    maxQueue: config.maxQueue,
    budgetMs: config.requestTimeoutMs,
  });
  gate.install(client);
  gates.set(client, gate);
  return client;
}

/** The gate of a client made by `createDynamoClient` (its limiter's queue, for tests and metrics). */
export const gateOf = (client: DynamoDBClient): DatabaseGate | undefined => gates.get(client);

export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
  // The document client sends through the shared middleware stack, not through `client.send`:
  // it gets the same gate, so both share one queue and one concurrency limit.
  gates.get(client)?.install(documentClient);
  return documentClient;
}
