// A throw-away PostgreSQL cluster for `npm run bench:peer`: initdb in a temporary directory, the
// server on a free loopback port, stopped and removed after. Bench tooling: no data is kept.
//   PG_BIN   the directory of initdb and postgres (default: the newest /usr/lib/postgresql/<n>/bin)
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep } from '../reliability/lib.mjs';

function pgBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions.length) throw new Error('PostgreSQL not found: install it or set PG_BIN to the directory of initdb');
  return join(root, versions[0], 'bin');
}

/** initdb and postgres refuse to run as root: as root, run them as the `postgres` user. */
function runAs() {
  if (process.getuid?.() !== 0) return {};
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Starts a cluster; returns its port, a `psql(sql)` that runs SQL in `database`, and `stop()`. */
export async function startPostgres({ database = 'peer' } = {}) {
  const bin = pgBin();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'bench-pg-'));
  if (user.uid !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  execFileSync(
    join(bin, 'initdb'),
    ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync'],
    { ...user, stdio: 'ignore' },
  );
  const port = await freePort();
  // fsync off: the cluster is thrown away after the run (its disk writes are not what is measured).
  const server = spawn(
    join(bin, 'postgres'),
    ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
    { ...user, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  server.stderr.on('data', (chunk) => (output = (output + chunk.toString()).slice(-4000)));
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const stop = async () => {
    if (server.exitCode === null && server.signalCode === null) {
      server.kill('SIGINT'); // fast shutdown
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const psql = (sql, db = database) =>
    execFileSync(
      'psql',
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  for (let i = 0; ; i++) {
    if (server.exitCode !== null) throw new Error(`postgres exited during start-up:\n${output}`);
    try {
      psql('SELECT 1', 'postgres');
      break;
    } catch {
      if (i > 150) {
        await stop();
        throw new Error(`postgres did not start:\n${output}`);
      }
      await sleep(200);
    }
  }
  psql(`CREATE DATABASE ${database}`, 'postgres');
  return { port, psql, stop, pid: server.pid };
}
