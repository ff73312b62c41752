// Phase 1 of the battery: a spec-driven fuzzer. Reads /docs-json and sends malformed and
// hostile requests to every operation, anonymous and signed in. Passes when no answer is >= 500
// (or a dropped connection) and no body shows internal fields or a stack trace.
import { call, pool, register } from './lib.mjs';

const LEAK = /"(PK|SK|GSI\d(PK|SK))"|passwordHash|tokenHash|\bat [\w.<>]+ \(.*:\d+:\d+\)|node_modules|"stack"/;
const DEEP = `{"a":${'['.repeat(60)}${']'.repeat(60)}}`;
// Large but under BODY_LIMIT_KB, so it reaches validation (beyond the limit the server answers
// 413 and may close before the client has sent everything, which fetch reports as an error).
const HUGE = 'x'.repeat(200_000);
const STRINGS = [
  '',
  ' ',
  'A'.repeat(5000),
  '../../etc/passwd',
  "'; DROP TABLE x; --",
  '%00',
  '\u0000',
  '\u202Eevil',
  '𝕏'.repeat(50),
  '{{7*7}}',
  '<script>',
];
const VALUES = [null, true, -1, 1e308, 'str', [], {}, [1, 2], { $gt: '' }, 'A'.repeat(20000)];
const PROTO = ['__proto__', 'constructor', 'prototype'];

function bodies(schema) {
  const props = Object.keys(schema?.properties ?? {});
  const out = ['{}', 'null', '[]', '"text"', '42', '{bad json', DEEP, `{"__proto__":{"role":"admin"}}`];
  for (const key of PROTO) out.push(`{"${key}":{"isAdmin":true}}`, `{"x":{"y":{"${key}":1}}}`);
  out.push(JSON.stringify({ unexpected: 'field' }));
  for (const prop of props) {
    for (const value of VALUES) out.push(JSON.stringify({ [prop]: value }));
    out.push(JSON.stringify({ [prop]: HUGE }));
    for (const s of STRINGS.slice(0, 6)) out.push(JSON.stringify({ [prop]: s }));
  }
  return out;
}

function pathVariants(path, ids) {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  if (params.length === 0) return [path];
  const fills = [
    ...ids,
    'AAAAAAAAAAAAAAAAAAAAA',
    '..%2F..%2Fetc',
    "'",
    'A'.repeat(3000),
    '%F0%9F',
    '-1',
    'null',
    '%00',
  ];
  return fills.map((fill) => params.reduce((p, name) => p.replace(`{${name}}`, encodeURIComponent(fill)), path));
}

function queries(operation) {
  const names = (operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
  const out = [''];
  for (const name of names) {
    for (const v of ['-1', '0', '1000000', 'abc', '', 'A'.repeat(5000), '%00', '[object Object]'])
      out.push(`?${name}=${encodeURIComponent(v)}`);
    out.push(`?${name}=1&${name}=2`, `?${name}[__proto__]=x`);
  }
  out.push('?cursor=eyJQSyI6IlVTRVIjeCJ9', '?cursor=' + 'A'.repeat(2000), '?limit=999&cursor=%%%');
  return out;
}

export async function fuzz(base, { minimum = 5000 } = {}) {
  const doc = (await call(base, 'GET', '/docs-json')).json;
  const user = await register(base, 'fuzz');
  const post = await call(base, 'POST', '/api/v1/posts', {
    token: user.token,
    body: { title: 'Fuzz target', content: 'x' },
  });
  const ids = [post.json?.id, user.userId].filter(Boolean);
  const requests = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const operation = item[method];
      if (!operation) continue;
      const schemaRef = operation.requestBody?.content?.['application/json']?.schema?.$ref;
      const schema = schemaRef ? doc.components.schemas[schemaRef.split('/').pop()] : undefined;
      for (const token of [undefined, user.token]) {
        for (const p of pathVariants(path, ids)) {
          for (const q of queries(operation)) requests.push({ method, path: p + q, token });
          if (['post', 'put', 'patch'].includes(method)) {
            for (const rawBody of bodies(schema)) requests.push({ method, path: p, token, rawBody });
          }
          const hasBody = ['post', 'put', 'patch'].includes(method);
          requests.push({
            method,
            path: p,
            token,
            headers: { 'if-match': '"not-a-version", W/"x"' },
            rawBody: hasBody ? '{}' : undefined,
          });
          requests.push({ method, path: p, headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' } });
        }
      }
    }
  }
  while (requests.length < minimum) requests.push(...requests.slice(0, minimum - requests.length));
  // Keep the run to a few minutes: an even sample when the matrix is much larger than asked.
  const step = Math.max(1, Math.floor(requests.length / (minimum * 1.2)));
  const sample = requests.filter((_, i) => i % step === 0);
  requests.length = 0;
  requests.push(...sample);
  const failures = [];
  const statuses = {};
  await pool(requests.length, 8, async (i) => {
    const r = requests[i];
    const send = () =>
      call(base, r.method.toUpperCase(), r.path, {
        token: r.token,
        rawBody: r.rawBody,
        headers: r.headers ?? {},
        timeoutMs: 30000,
      });
    // A dropped connection is retried once: a keep-alive socket the server closed is a client-side race.
    let res = await send();
    if (res.status === 0) res = await send();
    const bucket = `${Math.floor(res.status / 100)}xx`;
    statuses[bucket] = (statuses[bucket] ?? 0) + 1;
    if (res.status >= 500 || res.status === 0 || LEAK.test(res.text)) {
      if (failures.length < 20)
        failures.push(`${r.method.toUpperCase()} ${r.path.slice(0, 120)} -> ${res.status} ${res.text.slice(0, 200)}`);
      else failures.push('...');
    }
  });
  return {
    requests: requests.length,
    operations: Object.values(doc.paths).reduce((n, i) => n + Object.keys(i).length, 0),
    statuses,
    failures: failures.length,
    examples: failures.slice(0, 5),
  };
}
