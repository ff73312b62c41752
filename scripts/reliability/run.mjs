// `npm run test:reliability`: the reliability battery. Starts the built app on its own DynamoDB
// Local (loopback only), runs the four phases, prints the figures, writes docs/reliability.md
// and exits 1 when any check fails. Takes a few minutes; not part of `npm test`, CI runs it.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import * as prettier from 'prettier';
import { cpus, totalmem, platform, release } from 'node:os';
import { burst } from './burst.mjs';
import { measureWriteRate } from './engine-write-rate.mjs';
import { faults } from './faults.mjs';
import { fuzz } from './fuzz.mjs';
import { cleanup, freePort, startApp, startEngine, tempDir } from './lib.mjs';

/** The default DYNAMODB_REQUEST_TIMEOUT_MS: the on-disk engine on a loaded machine needs it. */
const BUDGET_MS = 5000;
const checks = [];
const check = (name, ok, detail) => {
  checks.push({ name, ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
};

async function main() {
  const started = Date.now();
  const env = { MAIL_TRANSPORT: 'log' };
  const app = (extra) => startApp({ ...env, ...extra });

  // 1. Fuzzer, against an app on its own on-disk engine.
  const fuzzData = tempDir('fuzz-data-');
  const fuzzEngine = await startEngine({ dataDir: fuzzData, port: await freePort() });
  const fuzzApp = await app({ DYNAMODB_ENDPOINT: fuzzEngine.endpoint });
  const fuzzed = await fuzz(fuzzApp.base, { minimum: 5000 });
  await fuzzApp.stop();
  await fuzzEngine.stop();
  check(
    'fuzzer',
    fuzzed.requests >= 5000 && fuzzed.failures === 0,
    `${fuzzed.requests} requests over ${fuzzed.operations} operations, statuses ${JSON.stringify(fuzzed.statuses)}, ${fuzzed.failures} with >= 500, no answer or a leak ${fuzzed.examples.join(' | ')}`,
  );

  // 2 and 3. Freeze, then kill and restart, on one on-disk engine.
  const faultData = tempDir('fault-data-');
  const f = await faults({ startApp: app, dataDir: faultData, port: await freePort(), budgetMs: BUDGET_MS });
  check(
    'engine frozen 10 s',
    f.freeze.unexpected === 0 && f.freeze.over503Deadline === 0 && f.freeze.recoveredAfterMs !== undefined,
    `${JSON.stringify(f.freeze)} (deadline ${BUDGET_MS} ms)`,
  );
  check(
    'engine killed and restarted',
    f.kill.unexpected === 0 && f.kill.recoveredAfterMs !== undefined,
    JSON.stringify(f.kill),
  );
  let counts = 'not run';
  let countsOk = false;
  try {
    counts = execFileSync(process.execPath, ['dist/cli/check-counts.js'], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'development',
        DYNAMODB_ENDPOINT: f.engine.endpoint,
        JWT_SECRET: 'reliability-battery-secret-0123456789abcdef',
        LOG_LEVEL: 'error',
        NO_COLOR: '1', // plain text for the table in docs/reliability.md
      },
      encoding: 'utf8',
    }).trim();
    countsOk = true;
  } catch (error) {
    counts = String(error.stdout ?? error);
  }
  check(
    'counts after the restart',
    countsOk && f.likeItems >= 3 && f.likeCount === f.likeItems,
    `db:check-counts: ${counts.split('\n').slice(-3).join(' ')}; likeCount ${f.likeCount} = like items ${f.likeItems}`,
  );
  await f.engine.stop();

  // 4. Bursts on the default embedded on-disk engine.
  const b = await burst({ size: 100 });
  const no5xx = (s) => Object.keys(s).every((k) => Number(k) < 500 && Number(k) > 0);
  check(
    'burst of 100 registrations',
    no5xx(b.registrationStatuses) && b.registrationStatuses['201'] === 100,
    `${JSON.stringify(b.registrationStatuses)} in ${b.registrationSeconds.toFixed(1)} s`,
  );
  check(
    'burst of 100 likes',
    no5xx(b.likeStatuses) && b.likeCount === b.expectedLikes,
    `${JSON.stringify(b.likeStatuses)} in ${b.likeSeconds.toFixed(1)} s, likeCount ${b.likeCount} of ${b.expectedLikes}`,
  );

  const rate = await measureWriteRate({ seconds: 3 });
  check('engine write rate (figure)', true, JSON.stringify(rate));

  const seconds = Math.round((Date.now() - started) / 1000);
  await writeReport({ checks, seconds });
  console.log(`\nreliability battery: ${checks.filter((c) => c.ok).length}/${checks.length} passed in ${seconds} s`);
  if (checks.some((c) => !c.ok)) process.exitCode = 1;
}

async function writeReport({ checks: results, seconds }) {
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ${platform()} ${release()}, Node ${process.version}`;
  const path = 'docs/reliability.md';
  const doc = readFileSync(path, 'utf8');
  const marker = '<!-- battery -->';
  const table = [
    marker,
    `Last run: ${new Date().toISOString()} on ${machine}, ${seconds} s.`,
    '',
    '| check | result | figures |',
    '| --- | --- | --- |',
    ...results.map((c) => `| ${c.name} | ${c.ok ? 'pass' : 'FAIL'} | ${c.detail.replaceAll('|', '/')} |`),
    marker,
  ].join('\n');
  const [before, , after] = doc.split(marker);
  const next = after === undefined ? `${doc}\n${table}\n` : `${before}${table}${after}`;
  // Formatted as `npm run lint` expects (Prettier aligns the table), so a run leaves the lint green.
  const options = (await prettier.resolveConfig(path)) ?? {};
  writeFileSync(path, await prettier.format(next, { ...options, filepath: path }));
}

main()
  .catch((error) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(cleanup);
