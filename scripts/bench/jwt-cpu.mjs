// CPU per access-token sign and verify: jsonwebtoken through @nestjs/jwt, called as TokenService and
// AccessTokenVerifier call it (a `jwtKeyOf` KeyObject, HS256 pinned, issuer and audience), against
// a direct HS256 with node:crypto (createHmac with the same KeyObject, timingSafeEqual) as strict as
// a replacement would have to be (exact header, strict base64url, 3 segments, exp/nbf/iss/aud).
// Session 17 kept jsonwebtoken on these figures: the direct one saved well under the 40 us per
// verify that would have paid for owning the code (docs/performance.md, "Session 17").
// `node scripts/bench/jwt-cpu.mjs` (JWT_CPU_COUNT calls per round, default 20000; 5 rounds).
// CPU time (process.cpuUsage) of one thread doing nothing else: robust to load, printed beside it.
import { createHmac, createSecretKey, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { JwtService } from '@nestjs/jwt';

const COUNT = Number(process.env.JWT_CPU_COUNT ?? 20000);
const ROUNDS = 5;
const key = createSecretKey(Buffer.from('a-bench-secret-that-is-long-enough-0123456789', 'utf8'));
const ISSUER = 'publishing-api';
const AUDIENCE = 'publishing-api-clients';
const SUB = 'U'.repeat(21);
const CLAIMS = { sid: 'S'.repeat(21), role: 'user' };

const jwt = new JwtService({});
const libSign = () =>
  jwt.signAsync(CLAIMS, {
    subject: SUB,
    algorithm: 'HS256',
    issuer: ISSUER,
    audience: AUDIENCE,
    expiresIn: 900,
    privateKey: key,
  });
const libVerify = (token) =>
  jwt.verifyAsync(token, { publicKey: key, algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE });

// The candidate: the header jsonwebtoken writes, so tokens stay byte-for-byte the same form.
const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const SEGMENT = /^[A-Za-z0-9_-]+$/;
const mac = (body) => createHmac('sha256', key).update(body).digest();
function directSign() {
  const iat = Math.floor(Date.now() / 1000);
  const payload = { ...CLAIMS, iat, exp: iat + 900, aud: AUDIENCE, iss: ISSUER, sub: SUB };
  const body = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
  return Promise.resolve(`${body}.${mac(body).toString('base64url')}`);
}
function directVerify(token) {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part))) throw new Error('malformed');
  const [head, body, signature] = parts;
  if (head !== HEADER) {
    const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8'));
    if (header?.alg !== 'HS256' || Object.keys(header).some((k) => k !== 'alg' && k !== 'typ')) throw new Error('alg');
  }
  const given = Buffer.from(signature, 'base64url');
  const expected = mac(`${head}.${body}`);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error('signature');
  const payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  const now = Math.floor(Date.now() / 1000);
  if (typeof payload.nbf === 'number' && payload.nbf > now) throw new Error('nbf');
  if (typeof payload.exp !== 'number' || now >= payload.exp) throw new Error('exp');
  if (payload.iss !== ISSUER || payload.aud !== AUDIENCE) throw new Error('iss/aud');
  return Promise.resolve(payload);
}

/** Microseconds of CPU per call of `fn`, after a warm-up. */
async function cpuPerCall(fn) {
  for (let i = 0; i < 2000; i++) await fn();
  const start = process.cpuUsage();
  for (let i = 0; i < COUNT; i++) await fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / COUNT;
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const token = await libSign();
// Both ways, or the comparison means nothing: the candidate reads the library's tokens and back.
await directVerify(token);
await libVerify(await directSign());

console.log(`${ROUNDS} rounds of ${COUNT} calls each; load ${loadavg()} at ${new Date().toISOString()}`);
const figures = { libSign: [], directSign: [], libVerify: [], directVerify: [] };
for (let round = 0; round < ROUNDS; round++) {
  figures.libSign.push(await cpuPerCall(libSign));
  figures.directSign.push(await cpuPerCall(directSign));
  figures.libVerify.push(await cpuPerCall(() => libVerify(token)));
  figures.directVerify.push(await cpuPerCall(() => directVerify(token)));
}
for (const [name, xs] of Object.entries(figures)) {
  console.log(`${name.padEnd(12)} median ${median(xs).toFixed(1)} us/call (${xs.map((x) => x.toFixed(1)).join(' ')})`);
}
console.log(
  `saving per verify ${(median(figures.libVerify) - median(figures.directVerify)).toFixed(1)} us, per sign ${(median(figures.libSign) - median(figures.directSign)).toFixed(1)} us; load ${loadavg()}`,
);
