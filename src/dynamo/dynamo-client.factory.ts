import { Agent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DynamoConfig } from '../config/app-config.js';
import { DatabaseGate } from './database-gate.js';
import { LeanDocumentClient, LeanDynamoTransport } from './lean-dynamo-client.js';
import { type DynamoCallHook, type DynamoCallObserver, installRequestAccounting } from './request-accounting.js';

// DNS suffixes of AWS's partitions (aws, aws-cn, aws-us-gov, the ISO ones, EU sovereign) and of
// the dual-stack endpoints: an endpoint under them is AWS, whatever its scheme.
const AWS_DOMAINS = [
  'amazonaws.com',
  'amazonaws.com.cn',
  'api.aws',
  'api.amazonwebservices.com.cn',
  'c2s.ic.gov',
  'sc2s.sgov.gov',
  'cloud.adc-e.uk',
  'csp.hci.ic.gov',
  'amazonaws.eu',
];

/**
 * A DynamoDB Local endpoint (docker-compose's `http://dynamodb:8000`, loopback, the embedded
 * engine's `http://127.0.0.1:<port>`): plain HTTP to a host outside AWS's domains. AWS's own
 * endpoints (FIPS, VPC, dual-stack) are HTTPS and need real credentials.
 */
export function isLocalEndpoint(endpoint: string | undefined): boolean {
  if (endpoint === undefined) return false;
  const url = new URL(endpoint);
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  return url.protocol === 'http:' && !AWS_DOMAINS.some((domain) => host === domain || host.endsWith(`.${domain}`));
}

/**
 * Region, endpoint, attempts and credentials of any AWS client on the configured DynamoDB (this
 * client, the Streams client): DynamoDB Local accepts any credentials, so without AWS keys in the
 * environment it gets fake ones; any other endpoint (AWS's FIPS, VPC or dual-stack ones) and AWS
 * itself use the default chain (task role, instance profile, IRSA...).
 */
export function awsClientOptions(config: DynamoConfig) {
  return {
    region: config.region,
    endpoint: config.endpoint,
    maxAttempts: config.maxAttempts,
    ...(isLocalEndpoint(config.endpoint) && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  };
}

/** What `createDynamoClient` made beside each client: its gate, call hooks and (lean) transport. */
interface ClientParts {
  gate: DatabaseGate;
  observer: DynamoCallObserver | undefined;
  hooks: DynamoCallHook[];
  transport: LeanDynamoTransport | undefined;
}
const parts = new WeakMap<DynamoDBClient, ClientParts>();

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
  const hooks: DynamoCallHook[] = [];
  installRequestAccounting(client, observer, hooks);
  const gate = new DatabaseGate({
    maxConcurrency: config.maxConcurrency,
    maxQueue: config.maxQueue,
    budgetMs: config.requestTimeoutMs,
  });
  gate.install(client);
  let transport: LeanDynamoTransport | undefined;
  if (config.client === 'lean') {
    transport = new LeanDynamoTransport({
      region: config.region,
      endpoint: sdkEndpointOf(client),
      // The SDK's resolved provider (the default chain on AWS): it caches and refreshes itself.
      credentials: client.config.credentials,
      maxAttempts: config.maxAttempts,
      connectionTimeoutMs: config.connectionTimeoutMs,
      requestTimeoutMs: config.requestTimeoutMs,
      maxSockets: config.maxConcurrency,
    });
    const destroy = client.destroy.bind(client);
    client.destroy = () => {
      transport?.destroy();
      destroy();
    };
  }
  parts.set(client, { gate, observer, hooks, transport });
  return client;
}

/**
 * The URL the SDK client sends DynamoDB calls to, resolved as its endpoint middleware does: the
 * configured endpoint (`DYNAMODB_ENDPOINT`), else `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`
 * (or the config file's), else the client's rules for the region (its partition: amazonaws.com.cn
 * for cn-*, the ISO ones) with `AWS_USE_FIPS_ENDPOINT` / `AWS_USE_DUALSTACK_ENDPOINT`. Account-ID
 * endpoints are left out: the lean transport does not know the account, the regional one is valid.
 */
export async function sdkEndpointOf(client: DynamoDBClient): Promise<string> {
  const config = client.config as typeof client.config & {
    serviceConfiguredEndpoint?: () => Promise<string | undefined>;
  };
  let custom: string | undefined;
  if (config.isCustomEndpoint && config.endpoint) {
    const { protocol, hostname, port, path } = await config.endpoint();
    custom = `${protocol}//${hostname}${port ? `:${port}` : ''}${path}`;
  } else if (!config.ignoreConfiguredEndpointUrls) {
    custom = await config.serviceConfiguredEndpoint?.();
  }
  const resolved = config.endpointProvider({
    Region: await config.region(),
    UseFIPS: await config.useFipsEndpoint(),
    UseDualStack: await config.useDualstackEndpoint(),
    AccountIdEndpointMode: 'disabled',
    ...(custom ? { Endpoint: custom } : {}),
  });
  return resolved.url.href;
}

/** Tests: the lean transport of a client made by `createDynamoClient` (undefined with `sdk`). */
export const leanTransportOf = (client: DynamoDBClient): LeanDynamoTransport | undefined =>
  parts.get(client)?.transport;

/** The gate of a client made by `createDynamoClient` (its limiter's queue, for tests and metrics). */
export const gateOf = (client: DynamoDBClient): DatabaseGate | undefined => parts.get(client)?.gate;

/**
 * Tests: `hook` sees every call of the client's repositories (command name as the SDK names it,
 * input as built) on either transport, and may throw to fail it. Returns its removal.
 */
export function addCallHook(client: DynamoDBClient, hook: DynamoCallHook): () => void {
  const hooks = parts.get(client)?.hooks;
  if (!hooks) throw new Error('not a client of createDynamoClient');
  hooks.push(hook);
  return () => void hooks.splice(hooks.indexOf(hook), 1);
}

/**
 * The repositories' client. With `DYNAMODB_CLIENT=lean` (the default) the data-plane commands go
 * through our own transport (docs/performance.md: the SDK's per-call pipeline was most of a
 * request's CPU), everything else through the SDK's document client; `sdk` is the SDK for all.
 */
export function createDocumentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  const documentClient = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
    unmarshallOptions: { wrapNumbers: false },
  });
  const own = parts.get(client);
  // The document client sends through the shared middleware stack, not through `client.send`:
  // it gets the same gate, so both share one queue and one concurrency limit.
  own?.gate.install(documentClient);
  if (!own?.transport) return documentClient;
  const lean = new LeanDocumentClient({
    transport: own.transport,
    gate: own.gate,
    observer: own.observer,
    hooks: own.hooks,
    fallback: documentClient,
  });
  // Repositories only call `send` (and the module `destroy`): the lean client answers both.
  return lean as unknown as DynamoDBDocumentClient;
}
