import { inspect } from 'node:util';
import { Hash } from '@smithy/core/serde';
import { SignatureV4 } from '@smithy/signature-v4';
import { type AwsCredentialIdentity, canonicalPath, LeanSigner, type SigningCredentials } from './lean-signer.js';

/** What @smithy/signature-v4 (the SDK's signer) makes of the same POST: its headers, all of them. */
async function sdkSigned(
  credentials: SigningCredentials,
  region: string,
  path: string,
  headers: Record<string, string>,
  body: string,
  at: number,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({ credentials, region, service: 'dynamodb', sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.sign(
    {
      method: 'POST',
      protocol: 'https:',
      hostname: headers.host,
      path,
      query: {},
      headers: { ...headers },
      body,
    },
    { signingDate: new Date(at) },
  );
  return signed.headers;
}

async function ours(
  signer: LeanSigner,
  headers: Record<string, string>,
  body: string,
  at: number,
): Promise<Record<string, string>> {
  const credentials = await signer.credentials();
  return signer.sign(credentials, LeanSigner.withoutGenerated({ ...headers }), body, at);
}

/** A small deterministic generator (mulberry32): the same cases on every run. */
function random(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  return { next, pick };
}

const OPERATIONS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'BatchGetItem', 'TransactWriteItems'];
const HOSTS = [
  '127.0.0.1:8000',
  'dynamodb.us-east-1.amazonaws.com',
  'localhost:4566',
  'dynamodb.cn-north-1.amazonaws.com.cn',
];
const TEXTS = [
  '',
  'A title',
  'Crème brûlée à la café',
  '日本語のタイトル',
  'emoji 😀🚀 and ZWJ 👩‍👩‍👧',
  'combining e\u0301 and RTL שלום',
  'quotes " and \\ and \n newline',
  'x'.repeat(3000),
];

function bodyOf(rng: ReturnType<typeof random>): string {
  const item: Record<string, unknown> = { PK: { S: `POST#${Math.floor(rng.next() * 1e6)}` }, SK: { S: 'POST' } };
  for (let i = 0; i < 1 + Math.floor(rng.next() * 4); i++) item[`a${i}`] = { S: rng.pick(TEXTS) };
  return JSON.stringify({ TableName: 'app', Item: item, ReturnConsumedCapacity: 'TOTAL' });
}

const baseHeaders = (operation: string, host: string, body: string): Record<string, string> => ({
  'content-type': 'application/x-amz-json-1.0',
  'x-amz-target': `DynamoDB_20120810.${operation}`,
  'content-length': String(Buffer.byteLength(body)),
  host,
});

const keys: AwsCredentialIdentity = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const temporary: AwsCredentialIdentity = {
  accessKeyId: 'ASIAEXAMPLE',
  secretAccessKey: 'tmp/secret+key',
  sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+token==',
};

describe('LeanSigner: the SDK signer, byte for byte', () => {
  it('600 requests: operations, hosts, bodies (non-ASCII too), dates over decades, with and without a session token', async () => {
    const rng = random(15);
    for (const region of ['us-east-1', 'eu-west-3', 'cn-north-1']) {
      for (const credentials of [keys, temporary]) {
        // One signer per region and keys, as the transport has: its caches must never answer stale.
        const signer = new LeanSigner({ credentials, region, service: 'dynamodb' }, '/');
        for (let i = 0; i < 100; i++) {
          const body = bodyOf(rng);
          const headers = baseHeaders(rng.pick(OPERATIONS), rng.pick(HOSTS), body);
          // Anywhere between 2001 and 2033, to the millisecond.
          const at = Math.floor(978_307_200_000 + rng.next() * 1_000_000_000_000);
          const expected = await sdkSigned(credentials, region, '/', headers, body, at);
          expect(await ours(signer, headers, body, at)).toEqual(expected);
        }
      }
    }
  });

  it('dates across midnight, back and forth, and within one second: the day of each signature', async () => {
    const signer = new LeanSigner({ credentials: keys, region: 'us-east-1', service: 'dynamodb' }, '/');
    const midnight = Date.parse('2026-11-28T00:00:00.000Z');
    const body = '{"TableName":"app","Key":{"PK":{"S":"USER#1"},"SK":{"S":"USER"}}}';
    const headers = baseHeaders('GetItem', HOSTS[0], body);
    const scopes: string[] = [];
    for (const at of [
      midnight - 1,
      midnight,
      midnight - 1000,
      midnight + 999,
      midnight + 1000,
      midnight - 1,
      midnight - 86_400_001,
    ]) {
      const signed = await ours(signer, headers, body, at);
      expect(signed).toEqual(await sdkSigned(keys, 'us-east-1', '/', headers, body, at));
      scopes.push(`${signed['x-amz-date']} ${/Credential=[^/]+\/(\d{8})/.exec(signed.authorization)?.[1]}`);
    }
    expect(scopes).toEqual([
      '20261127T235959Z 20261127',
      '20261128T000000Z 20261128',
      '20261127T235959Z 20261127',
      '20261128T000000Z 20261128',
      '20261128T000001Z 20261128',
      '20261127T235959Z 20261127',
      '20261126T235959Z 20261126',
    ]);
  });

  it('keys that rotate: a provider with new keys signs with them at once, and back', async () => {
    const sequence = [keys, temporary, { ...temporary, sessionToken: 'a-refreshed-token' }, keys];
    let calls = 0;
    const provider = () => Promise.resolve(sequence[calls++ % sequence.length]);
    const signer = new LeanSigner({ credentials: provider, region: 'us-east-1', service: 'dynamodb' }, '/');
    const at = Date.parse('2026-11-27T13:00:00Z');
    const body = '{"TableName":"app"}';
    const headers = baseHeaders('Query', HOSTS[1], body);
    const seen: string[] = [];
    for (const expectedKeys of sequence) {
      const signed = await ours(signer, headers, body, at);
      expect(signed).toEqual(await sdkSigned(expectedKeys, 'us-east-1', '/', headers, body, at));
      seen.push(`${/Credential=(\w+)/.exec(signed.authorization)?.[1]} ${signed['x-amz-security-token']}`);
    }
    expect(seen).toEqual([
      'AKIDEXAMPLE undefined',
      `ASIAEXAMPLE ${temporary.sessionToken}`,
      'ASIAEXAMPLE a-refreshed-token',
      'AKIDEXAMPLE undefined',
    ]);
    expect(calls).toBe(4);
  });

  it('a session token that expires: the provider is asked on every signature, so its refresh applies to the next one', async () => {
    // As the SDK's memoized chain: the same keys until they expire, then new ones.
    let now = 0;
    let refreshed = 0;
    let current = { ...temporary, sessionToken: 'token-0', expiration: new Date(1000) };
    const provider = () => {
      if (now >= current.expiration.getTime()) {
        refreshed++;
        current = { ...temporary, sessionToken: `token-${refreshed}`, expiration: new Date(now + 1000) };
      }
      return Promise.resolve(current);
    };
    const signer = new LeanSigner({ credentials: provider, region: 'eu-west-3', service: 'dynamodb' }, '/');
    const tokens: string[] = [];
    for (const at of [0, 999, 1000, 1500, 2000]) {
      now = at;
      tokens.push(
        (await ours(signer, baseHeaders('GetItem', HOSTS[0], '{}'), '{}', Date.parse('2026-11-27T13:00:00Z')))[
          'x-amz-security-token'
        ],
      );
    }
    expect(tokens).toEqual(['token-0', 'token-0', 'token-1', 'token-1', 'token-2']);
  });

  it('headers it does not sign, values with spaces, tabs and line breaks, upper-case in values, a payload hash given', async () => {
    const body = '{"TableName":"app"}';
    const extra = {
      'user-agent': 'aws-sdk-js/3 ua/2.1',
      'x-amzn-trace-id': 'Root=1-abc',
      'proxy-authorization': 'x',
      'sec-fetch-mode': 'cors',
      connection: 'keep-alive',
      date: 'Fri, 27 Nov 2026 13:00:00 GMT',
      'amz-sdk-request': '  attempt=1;   max=3  ',
      'amz-sdk-invocation-id': 'ID\twith\ttabs',
      'x-custom': 'line\r\nbreak  and  Spaces ',
    };
    const signer = new LeanSigner({ credentials: temporary, region: 'us-east-1', service: 'dynamodb' }, '/');
    const at = Date.parse('2026-11-27T13:00:00Z');
    const headers = { ...baseHeaders('PutItem', HOSTS[2], body), ...extra };
    expect(await ours(signer, headers, body, at)).toEqual(
      await sdkSigned(temporary, 'us-east-1', '/', headers, body, at),
    );
    const hashed = { ...headers, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    const signed = await ours(signer, hashed, body, at);
    expect(signed).toEqual(await sdkSigned(temporary, 'us-east-1', '/', hashed, body, at));
    expect(signed.authorization).toContain('SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;');
  });

  it.each([
    '/',
    '',
    'relative/path',
    '/prefix',
    '/prefix/',
    '/a/./b/../c/',
    '/with space/',
    "/it's(*)!/",
    '/%41/',
    '/a//b',
  ])('endpoint path %j: the canonical path the SDK signs', async (path) => {
    const signer = new LeanSigner({ credentials: keys, region: 'us-east-1', service: 'dynamodb' }, path);
    const at = Date.parse('2026-11-27T13:00:00Z');
    const headers = baseHeaders('GetItem', HOSTS[0], '{}');
    expect(await ours(signer, headers, '{}', at)).toEqual(await sdkSigned(keys, 'us-east-1', path, headers, '{}', at));
  });

  it('the canonical path: dot segments resolved, reserved characters escaped twice as the SDK does', () => {
    expect(canonicalPath('/a/./b/../c/')).toBe('/a/c/');
    expect(canonicalPath('/%41/')).toBe('/%2541/');
    expect(canonicalPath("/it's(*)!")).toBe('/it%27s%28%2A%29%21');
  });

  it('keeps no secret key where a debug print of it would show it (keys from a provider)', async () => {
    const signer = new LeanSigner(
      { credentials: () => Promise.resolve(keys), region: 'us-east-1', service: 'dynamodb' },
      '/',
    );
    const body = '{}';
    await ours(signer, baseHeaders('GetItem', HOSTS[0], body), body, Date.parse('2026-11-27T12:00:00Z'));
    const printed = `${inspect(signer, { depth: 10, showHidden: true })} ${JSON.stringify(signer)}`;
    expect(printed).not.toContain(keys.secretAccessKey);
  });

  it('keys that are not keys: the SDK signer’s error', async () => {
    const signer = new LeanSigner(
      {
        credentials: () => Promise.resolve({ accessKeyId: 'A' } as AwsCredentialIdentity),
        region: 'us-east-1',
        service: 'dynamodb',
      },
      '/',
    );
    await expect(Promise.resolve().then(() => signer.credentials())).rejects.toThrow(
      'Resolved credential object is not valid',
    );
  });
});
