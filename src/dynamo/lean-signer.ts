import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';
import type { SignatureV4 } from '@smithy/signature-v4';

/** Keys, or a provider of them (the SDK client's resolved chain, which caches and refreshes itself). */
export type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];
/** One set of keys: access key, secret, and the session token of temporary ones. */
export type AwsCredentialIdentity = Exclude<SigningCredentials, (...args: never[]) => unknown>;

export interface LeanSignerOptions {
  credentials: SigningCredentials;
  region: string;
  service: string;
}

// Headers @smithy/signature-v4 never signs (its ALWAYS_UNSIGNABLE_HEADERS, `proxy-*`, `sec-*`), and
// the ones it drops from the request because it writes them itself (`prepareRequest`).
const UNSIGNABLE = new Set([
  'authorization',
  'cache-control',
  'connection',
  'expect',
  'from',
  'keep-alive',
  'max-forwards',
  'pragma',
  'referer',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'x-amzn-trace-id',
]);
const GENERATED = new Set(['authorization', 'x-amz-date', 'date']);
const unsignable = (name: string): boolean =>
  UNSIGNABLE.has(name) || name.startsWith('proxy-') || name.startsWith('sec-');

/** A header value as SigV4 canonicalises it (the signer's own replaces; most values need none). */
const NEEDS_TRIM = /[\r\n\t]| {2}|^ | $/;
const canonicalValue = (value: string): string =>
  NEEDS_TRIM.test(value)
    ? value
        .replace(/[\r\n]/g, ' ')
        .replace(/[ \t]+/g, ' ')
        .replace(/^ | $/g, '')
    : value;

/** `@smithy/util-uri-escape`'s escapeUri. */
const escapeUri = (uri: string): string =>
  encodeURIComponent(uri).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The canonical URI of a path, as the SDK's signer builds it (`uriEscapePath`: dot segments resolved, escaped). */
export function canonicalPath(requested: string): string {
  // As the SDK's HttpRequest: no path is `/`, a relative one gets its leading slash.
  const path = requested ? (requested.startsWith('/') ? requested : `/${requested}`) : '/';
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment.length === 0 || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  const normalized = `${path.startsWith('/') ? '/' : ''}${segments.join('/')}${segments.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return escapeUri(normalized).replace(/%2F/g, '/');
}

const sha256Hex = (data: string): string => hash('sha256', data, 'hex');

/**
 * SigV4 (AWS4-HMAC-SHA256) of the one request shape the lean transport sends: a POST with an empty
 * query string and a string body, to one path. Byte for byte what `@smithy/signature-v4` produces
 * for it (lean-signer.spec.ts compares both over many inputs), for a fraction of its CPU: the day's
 * signing key is derived once per (date, secret key) instead of hashing the credentials on every
 * call to find it in a cache, the canonical request is built directly, and node:crypto is called
 * one-shot without the SDK's hash wrappers and awaits.
 *
 * Credentials are read on every signature (the provider's own cache decides when keys rotate), so
 * a rotated key or a refreshed session token signs the very next request.
 */
export class LeanSigner {
  private readonly canonicalUri: string;
  /**
   * The last signing key, for its date and secret (one entry: one set of keys at a time). A
   * private field (#), so that no log or debug print of the transport shows the secret key.
   */
  #signingKey: { shortDate: string; secret: string; key: KeyObject } | undefined;
  /** The last second formatted, as `YYYYMMDDTHHMMSSZ`. */
  private lastSecond = Number.NaN;
  private lastLongDate = '';

  constructor(
    private readonly options: LeanSignerOptions,
    path: string,
  ) {
    this.canonicalUri = canonicalPath(path);
  }

  /** The current keys: the provider's (awaited) or the fixed ones, validated as the SDK's signer does. */
  credentials(): AwsCredentialIdentity | Promise<AwsCredentialIdentity> {
    const { credentials } = this.options;
    if (typeof credentials !== 'function') return validated(credentials);
    return credentials().then(validated);
  }

  /**
   * Adds `x-amz-date`, `x-amz-security-token` (temporary keys), `x-amz-content-sha256` and
   * `authorization` to `headers` (lower-case names; `host` included) for `body` signed at `time`
   * (epoch ms). Returns `headers`.
   */
  sign(
    credentials: AwsCredentialIdentity,
    headers: Record<string, string>,
    body: string,
    time: number,
  ): Record<string, string> {
    const longDate = this.longDate(time);
    const shortDate = longDate.slice(0, 8);
    headers['x-amz-date'] = longDate;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const payloadHash = headers['x-amz-content-sha256'] ?? sha256Hex(body);
    headers['x-amz-content-sha256'] = payloadHash;

    const names = Object.keys(headers)
      .filter((name) => headers[name] != null && !unsignable(name))
      .sort();
    let canonicalHeaders = '';
    for (const name of names) canonicalHeaders += `${name}:${canonicalValue(headers[name])}\n`;
    const signedHeaders = names.join(';');
    const canonicalRequest = `POST\n${this.canonicalUri}\n\n${canonicalHeaders}\n${signedHeaders}\n${payloadHash}`;

    const { region, service } = this.options;
    const scope = `${shortDate}/${region}/${service}/aws4_request`;
    const stringToSign = `AWS4-HMAC-SHA256\n${longDate}\n${scope}\n${sha256Hex(canonicalRequest)}`;
    const signature = createHmac('sha256', this.keyFor(shortDate, credentials.secretAccessKey))
      .update(stringToSign)
      .digest('hex');
    headers.authorization = `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  }

  /** Drops the headers the signer writes itself (as `prepareRequest`), for headers a caller passes in. */
  static withoutGenerated(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const name in headers) if (!GENERATED.has(name)) out[name] = headers[name];
    return out;
  }

  /**
   * The day's signing key as a `KeyObject`: on Node 24 (OpenSSL 3.5) `createHmac` with a key given
   * as bytes costs about 15 µs a call (the key is imported every time), with a `KeyObject` about 2,
   * as on Node 20 (docs/performance.md, "Session 21: the HTTP client per call").
   */
  private keyFor(shortDate: string, secret: string): KeyObject {
    const cached = this.#signingKey;
    if (cached && cached.shortDate === shortDate && cached.secret === secret) return cached.key;
    let key: Buffer = Buffer.from(`AWS4${secret}`, 'utf8');
    for (const part of [shortDate, this.options.region, this.options.service, 'aws4_request']) {
      key = createHmac('sha256', key).update(part).digest();
    }
    const signingKey = createSecretKey(key);
    this.#signingKey = { shortDate, secret, key: signingKey };
    return signingKey;
  }

  /** `YYYYMMDDTHHMMSSZ` of `time` (the SDK's `formatDate`), formatted once per second. */
  private longDate(time: number): string {
    const second = Math.floor(time / 1000);
    if (second !== this.lastSecond) {
      const iso = new Date(second * 1000).toISOString();
      this.lastLongDate = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
      this.lastSecond = second;
    }
    return this.lastLongDate;
  }
}

function validated(credentials: AwsCredentialIdentity): AwsCredentialIdentity {
  if (
    typeof credentials !== 'object' ||
    credentials === null ||
    typeof credentials.accessKeyId !== 'string' ||
    typeof credentials.secretAccessKey !== 'string'
  ) {
    throw new Error('Resolved credential object is not valid');
  }
  return credentials;
}
