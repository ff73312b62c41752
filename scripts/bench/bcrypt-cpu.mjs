// `node scripts/bench/bcrypt-cpu.mjs`: the process CPU (utime + stime of every thread) of one bcrypt
// hash and one comparison, through bcrypt's async API (libuv's pool: what `bench:peer` subtracts) and
// through the app's BcryptWorkers (dist/: build first), at cost 4 and 10, and which threads it went to.
// Answers "what does our worker design cost beyond bcrypt itself" (session 17, docs/performance.md).
//   BENCH_BCRYPT_N=200     operations per measurement at cost 4 (cost 10: a tenth)
//   BENCH_BCRYPT_ROUNDS=3  rounds, each measuring every variant in turn
import { readdirSync, readFileSync } from 'node:fs';
import bcrypt from 'bcrypt';
import { loadConfig } from '../../dist/config/app-config.js';
import { BcryptWorkers } from '../../dist/users/bcrypt-workers.js';
import { PasswordHasher } from '../../dist/users/password-hasher.js';

const N = Number(process.env.BENCH_BCRYPT_N ?? 200);
const ROUNDS = Number(process.env.BENCH_BCRYPT_ROUNDS ?? 3);
const TICK_MS = 1000 / 100; // USER_HZ

/** utime + stime in ms of this process's main thread and of all its other threads. */
function threads() {
  const byName = new Map();
  for (const tid of readdirSync('/proc/self/task')) {
    let stat;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // ended meanwhile
    }
    const name = Number(tid) === process.pid ? 'main' : 'others';
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ms = (Number(fields[11]) + Number(fields[12])) * TICK_MS;
    byName.set(name, (byName.get(name) ?? 0) + ms);
  }
  return byName;
}

async function measure(label, n, task) {
  await task(); // warm
  await task();
  const t0 = threads();
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await task();
  const used = process.cpuUsage(before);
  const t1 = threads();
  const perThread = [...t1]
    .map(([name, ms]) => [name, (ms - (t0.get(name) ?? 0)) / n])
    .filter(([, ms]) => ms > 0.005)
    .map(([name, ms]) => `${name} ${ms.toFixed(2)}`)
    .join(', ');
  console.log(
    `${label.padEnd(34)} ${((used.user + used.system) / 1000 / n).toFixed(3)} ms (user ${(used.user / 1000 / n).toFixed(3)}, system ${(used.system / 1000 / n).toFixed(3)}); threads: ${perThread}`,
  );
}

const PASSWORD = 'password-1234';
const workers = new BcryptWorkers(1, 10);
// The app's path: the limiter (one slot, as on 2 cores) and its wait bound around the workers, at cost 4.
const hasher = new PasswordHasher(loadConfig({ NODE_ENV: 'test', PASSWORD_HASH_CONCURRENCY: '1' }));
try {
  console.log(
    `load ${readFileSync('/proc/loadavg', 'utf8').trim()} at ${new Date().toISOString()}, Node ${process.version}`,
  );
  for (let round = 0; round < ROUNDS; round++) {
    for (const cost of [4, 10]) {
      const n = cost === 4 ? N : Math.max(5, Math.round(N / 10));
      const hash = bcrypt.hashSync(PASSWORD, cost);
      await measure(`async hash, cost ${cost}`, n, () => bcrypt.hash(PASSWORD, cost));
      await measure(`workers hash, cost ${cost}`, n, () => workers.hash(PASSWORD, cost));
      await measure(`async compare, cost ${cost}`, n, () => bcrypt.compare(PASSWORD, hash));
      await measure(`workers compare, cost ${cost}`, n, () => workers.compare(PASSWORD, hash));
      if (cost === 4) await measure(`PasswordHasher.verify, cost 4`, n, () => hasher.verify(PASSWORD, hash));
    }
  }
} finally {
  await workers.close();
  await hasher.onApplicationShutdown();
}
