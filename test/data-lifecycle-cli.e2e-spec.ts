import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { jest } from '@jest/globals';
import { readMigrationState } from '../src/migrations/state.js';
import { builtScript, CHILD_PROCESS_TIMEOUT_MS, commandEnv, TEST_REQUEST_TIMEOUT_MS } from './helpers/built-scripts.js';
import { regionOf } from './helpers/databases.js';
import { writeOldLayoutItems } from './helpers/old-layout.js';
import {
  exportedLines,
  importFixture,
  scratchDir,
  SEED_FIXTURE,
  sortedLines,
  testDatabase,
} from './helpers/data-files.js';

jest.setTimeout(CHILD_PROCESS_TIMEOUT_MS);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

describe('data lifecycle commands as child processes (e2e)', () => {
  const db = testDatabase();
  const dir = scratchDir();
  afterAll(() => db.drop());

  /** Starts a built command against the run's DynamoDB Local and the given table. */
  function run(name: string, args: string[], tableName: string): Run {
    const script = builtScript(name);
    const child = spawn(process.execPath, [script, ...args], {
      env: {
        ...commandEnv(db.endpoint, tableName), // DYNAMODB_CREATE_TABLE=false: no 15 s young-table wait
        ADMIN_EMAIL: '',
        ADMIN_PASSWORD: '',
        PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    return { child, output: () => output, exit };
  }

  /** Waits until `check` holds, failing with the command's output when the command ends first. */
  async function until(runOf: Run, check: () => boolean, what: string): Promise<void> {
    let ended = false;
    void runOf.exit.then(() => (ended = true));
    while (!check()) {
      if (ended) throw new Error(`the command ended before ${what}:\n${runOf.output()}`);
      await sleep(25);
    }
  }

  it('db:import killed mid-run, then --resume: the table ends identical to a clean import, counts exact', async () => {
    const tableName = await db.newTable();
    const file = join(dir, 'seed.ndjson');
    copyFileSync(SEED_FIXTURE, file);
    const checkpoint = `${file}.checkpoint.json`;
    const total = sortedLines(file).length;
    const linesDone = () =>
      existsSync(checkpoint) ? (JSON.parse(readFileSync(checkpoint, 'utf8')) as { linesDone: number }).linesDone : 0;

    // 20 WCU/s makes each 25-item batch take over a second: time enough to kill it between batches.
    const first = run('import', ['--in', file, '--max-wcu', '20'], tableName);
    await until(first, () => linesDone() >= 25, 'the first batch was checkpointed');
    first.child.kill('SIGKILL');
    expect(await first.exit).toEqual({ code: null, signal: 'SIGKILL' });
    const killedAt = linesDone();
    expect(killedAt).toBeLessThan(total);
    const partial = await db.client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }));
    expect(partial.Count).toBeLessThan(total);

    const second = run('import', ['--in', file, '--resume'], tableName);
    const { code } = await second.exit;
    expect({ code, output: second.output() }).toEqual({
      code: 0,
      output: expect.stringContaining('Count check: clean.'),
    });
    expect(second.output()).toContain(`resumed after line ${killedAt} of ${total}`);
    expect(second.output()).toContain(`Imported ${total - killedAt} items`);
    expect(existsSync(checkpoint)).toBe(false);
    expect(await exportedLines(db.client, tableName, dir)).toEqual(sortedLines(SEED_FIXTURE));
  });

  it('db:migrate: the app refuses to start while it is pending; killed mid-run, it continues from its checkpoint', async () => {
    const tableName = await db.newTable();
    await importFixture({ client: db.client, tableName });
    const oldItems = await writeOldLayoutItems(
      db.client,
      tableName,
      ['u1aaaaaaaaaaaaaaaaaaa', 'u2aaaaaaaaaaaaaaaaaaa'],
      20,
    );
    const { Count: total } = await db.client.send(new ScanCommand({ TableName: tableName, Select: 'COUNT' }));

    const app = run('../main', [], tableName);
    expect((await app.exit).code).toBe(1);
    expect(app.output()).toContain('0001-index-user-owned-items (online)');
    expect(app.output()).toContain('npm run db:migrate');

    const record = async () => (await readMigrationState(db.client, tableName)).records[0];
    let scanned = 0;
    const poll = setInterval(
      () =>
        void record().then(
          (r) => (scanned = r?.scanned ?? 0),
          () => undefined,
        ),
      50,
    );
    try {
      // At 1 RCU/s a page of 5 items takes about a second: time enough to kill it between pages.
      const first = run('migrate', ['--page-size', '5', '--max-rcu', '1'], tableName);
      await until(first, () => scanned >= 10, 'two pages were checkpointed');
      first.child.kill('SIGKILL');
      await first.exit;
    } finally {
      clearInterval(poll);
    }
    const killed = await record();
    expect(killed.status).toBe('running');
    expect(killed.scanned).toBeLessThan(total!);

    const status = run('migrate', ['status'], tableName);
    expect((await status.exit).code).toBe(0);
    expect(status.output()).toMatch(/0001-index-user-owned-items \(online\): running since .*: \d+ read/);

    const second = run('migrate', [], tableName);
    expect((await second.exit).code).toBe(0);
    expect(second.output()).toMatch(
      /0001-index-user-owned-items: \d+ items read, \d+ changed \(continued from its checkpoint\)\./,
    );
    const done = await record();
    expect(done.status).toBe('applied');
    // Every old item is in the new layout. The recorded total can miss the changes the killed run
    // made in its page in flight, after its last checkpoint (docs/operations.md): at most a page.
    const { Count: leftOld } = await db.client.send(
      new ScanCommand({
        TableName: tableName,
        Select: 'COUNT',
        FilterExpression: '#entity IN (:token, :idempotency) AND attribute_not_exists(GSI3PK)',
        ExpressionAttributeNames: { '#entity': 'entity' },
        ExpressionAttributeValues: { ':token': { S: 'ActionToken' }, ':idempotency': { S: 'Idempotency' } },
      }),
    );
    expect(leftOld).toBe(0);
    expect(done.changed).toBeLessThanOrEqual(oldItems);
    expect(done.changed).toBeGreaterThanOrEqual(oldItems - 5);
    expect(done.scanned).toBeLessThan(total! + 10); // at most the page in flight read twice

    const after = run('migrate', ['status'], tableName);
    await after.exit;
    expect(after.output()).toMatch(
      new RegExp(`0001-index-user-owned-items \\(online\\): applied .*, ${done.changed} changed`),
    );
  });

  it('db:import refuses a non-empty table and a bad command line, writing nothing', async () => {
    const tableName = await db.newTable();
    const bad = run('import', ['--in', SEED_FIXTURE, '--max-wcu', 'lots'], tableName);
    expect((await bad.exit).code).toBe(2);
    expect(bad.output()).toContain('--max-wcu must be an integer');

    await importFixture({ client: db.client, tableName });
    const again = run('import', ['--in', SEED_FIXTURE], tableName);
    expect((await again.exit).code).toBe(1);
    expect(again.output()).toContain(`Table ${tableName} already holds items`);
  });

  it('db:import refuses a bad line after more than two batches of good ones before any write: exit 1, the line named, the table as it was', async () => {
    const tableName = await db.newTable();
    // 60 good lines (the writes go 25 a batch), then a bad one, then the rest of the fixture.
    const lines = readFileSync(SEED_FIXTURE, 'utf8').split('\n').filter(Boolean);
    const file = join(dir, 'bad-after-batches.ndjson');
    const bad = '{"Item":{"PK":{"S":"TAG#a"},"SK":{"S":"TAG"},"postCount":{"N":"three"}}}';
    writeFileSync(file, [...lines.slice(0, 60), bad, ...lines.slice(60)].join('\n'));
    const before = await exportedLines(db.client, tableName, dir);

    const refused = run('import', ['--in', file], tableName);
    expect({ code: (await refused.exit).code, output: refused.output() }).toEqual({
      code: 1,
      output: expect.stringContaining('line 61: Item.postCount.N is not a DynamoDB number'),
    });
    expect(await exportedLines(db.client, tableName, dir)).toEqual(before);
    expect(existsSync(`${file}.checkpoint.json`)).toBe(false);
  });

  it('db:migrate, db:export, db:import and db:check-counts run in production with the database settings alone (session 22 N)', async () => {
    const source = await db.newTable();
    await importFixture({ client: db.client, tableName: source });
    const target = await db.newTable();
    const out = join(dir, 'production-tools.ndjson.gz');
    // Exactly these variables (no JWT_SECRET, MAIL_*, PUBLIC_URL), from a directory with no .env.
    const production = (tableName: string): NodeJS.ProcessEnv => ({
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      NO_COLOR: '1',
      DYNAMODB_ENDPOINT: db.endpoint,
      DYNAMODB_TABLE_NAME: tableName,
      AWS_REGION: regionOf(tableName),
      DYNAMODB_REQUEST_TIMEOUT_MS: TEST_REQUEST_TIMEOUT_MS,
    });
    const runAlone = async (name: string, args: string[], env: NodeJS.ProcessEnv) => {
      const child = spawn(process.execPath, [builtScript(name), ...args], {
        env,
        cwd: dir,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (d: Buffer) => (output += d.toString()));
      child.stderr.on('data', (d: Buffer) => (output += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { name, code, output };
    };
    const runs: [string, string[], string][] = [
      ['migrate', ['status'], source],
      ['export', ['--out', out], source],
      // The fixture's stream-built counters are not there (no worker ran): --fix writes them, exit 0.
      ['check-counts', ['--fix'], source],
      ['import', ['--in', out, '--checkpoint', join(dir, 'production-tools.checkpoint.json')], target],
      ['migrate', ['--dry-run'], target],
    ];
    for (const [name, args, tableName] of runs) {
      const result = await runAlone(name, args, production(tableName));
      // The output when it failed, so that the reason is in the test's report.
      expect(result.code === 0 ? `${name}: exit 0` : result.output).toBe(`${name}: exit 0`);
    }
    expect(sortedLines(out)).toEqual(sortedLines(SEED_FIXTURE));
    expect(await exportedLines(db.client, target, dir)).toEqual(sortedLines(SEED_FIXTURE));

    // A setting a table tool uses is still checked, and named; a tool that runs the app's services
    // (user:role) still wants what serving needs.
    const badTable = await runAlone('export', ['--out', join(dir, 'never.ndjson')], {
      ...production(source),
      DYNAMODB_TABLE_NAME: 'x',
    });
    expect(badTable.code).toBe(1);
    expect(badTable.output).toContain('DYNAMODB_TABLE_NAME must be 3-255 characters');
    const serving = await runAlone('set-role', ['someone@example.com', 'admin'], production(source));
    expect(serving.code).toBe(1);
    expect(serving.output).toContain('JWT_SECRET is required in production');
  });

  it('db:export writes the table and states items, bytes and time; plain progress lines off a terminal', async () => {
    const tableName = await db.newTable();
    await importFixture({ client: db.client, tableName });
    const out = join(dir, 'cli-export.ndjson.gz');
    const exported = run('export', ['--out', out, '--segments', '3'], tableName);
    expect((await exported.exit).code).toBe(0);
    const total = sortedLines(SEED_FIXTURE).length;
    expect(exported.output()).toMatch(new RegExp(`^export: ${total} done`, 'm'));
    expect(exported.output()).toMatch(
      new RegExp(
        `Exported ${total} items of ${tableName} to .*: [\\d.]+ KB \\([\\d.]+ KB uncompressed\\) in [\\d.]+ s, 3 segment\\(s\\)\\.`,
      ),
    );
    expect(sortedLines(out)).toEqual(sortedLines(SEED_FIXTURE));
    // It holds password hashes and sessions: owner-only, whatever the umask (review 19a L4).
    expect(statSync(out).mode & 0o777).toBe(0o600);

    // It never replaces a file, nor writes through one left (or planted) at `<out>.partial`.
    const again = run('export', ['--out', out], tableName);
    expect((await again.exit).code).toBe(1);
    expect(again.output()).toContain(`${out} already exists`);
    expect(sortedLines(out)).toEqual(sortedLines(SEED_FIXTURE));
    const other = join(dir, 'cli-export-2.ndjson');
    writeFileSync(`${other}.partial`, 'not ours\n');
    const planted = run('export', ['--out', other], tableName);
    expect((await planted.exit).code).toBe(1);
    expect(planted.output()).toContain(`${other}.partial already exists`);
    expect(readFileSync(`${other}.partial`, 'utf8')).toBe('not ours\n');
    expect(existsSync(other)).toBe(false);
  });
});
