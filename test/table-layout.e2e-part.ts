import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  PutItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { nanoid } from 'nanoid';
import { StartupError } from '../src/common/startup-error.js';
import { loadConfig } from '../src/config/app-config.js';
import { createDynamoClient } from '../src/dynamo/dynamo-client.factory.js';
import { freePort } from '../src/dynamo/embedded-dynamo.js';
import { TABLE_LAYOUT_VERSION, tableDefinition } from '../src/dynamo/table.definition.js';
import { ensureTable } from '../src/dynamo/table.setup.js';
import { readMigrationState } from '../src/migrations/state.js';
import { CHILD_PROCESS_TIMEOUT_MS, commandEnv, runBuiltCommand } from './helpers/built-scripts.js';

/**
 * `ensureTable` (start-up, `db:create-table`) must not silently keep an index whose projection
 * or keys differ from the definition: DynamoDB cannot change them in place.
 */
describe('table layout check at start-up (e2e)', () => {
  const config = loadConfig({
    NODE_ENV: 'test',
    DYNAMODB_ENDPOINT: process.env.TEST_DYNAMODB_ENDPOINT ?? '',
    AWS_REGION: process.env.AWS_REGION,
    JWT_SECRET: 'test-secret-that-is-long-enough-0123456789',
    DYNAMODB_REQUEST_TIMEOUT_MS: '30000',
  });
  const client = createDynamoClient(config.dynamo);
  const tables: string[] = [];
  afterAll(async () => {
    for (const TableName of tables) await client.send(new DeleteTableCommand({ TableName })).catch(() => undefined);
    client.destroy();
  });

  it('accepts a table made from the definition, and refuses one whose index projects something else', async () => {
    const good = `test-${nanoid(10)}`;
    tables.push(good);
    await expect(ensureTable({ client, tableName: good })).resolves.toBe(true);
    await expect(ensureTable({ client, tableName: good })).resolves.toBe(false);

    const old = `test-${nanoid(10)}`;
    tables.push(old);
    const definition = tableDefinition(old);
    await client.send(
      new CreateTableCommand({
        ...definition,
        GlobalSecondaryIndexes: definition.GlobalSecondaryIndexes!.map((index) =>
          index.IndexName === 'GSI2' ? { ...index, Projection: { ProjectionType: 'KEYS_ONLY' } } : index,
        ),
      }),
    );
    await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: old });
    const refusal = ensureTable({ client, tableName: old });
    await expect(refusal).rejects.toBeInstanceOf(StartupError);
    await expect(refusal).rejects.toThrow(/index GSI2 projects KEYS_ONLY, not ALL.*cannot change.*db:migrate/);
  });

  it(
    'db:create-table in production needs only the table settings: no JWT secret, mail sender or front-end URL (README "AWS")',
    async () => {
      const name = `test-${nanoid(10)}`;
      tables.push(name);
      const run = await runBuiltCommand(
        'create-table',
        [],
        { endpoint: config.dynamo.endpoint, tableName: name },
        // The README's line, on the test engine (which has no point-in-time recovery to switch on).
        { NODE_ENV: 'production', JWT_SECRET: '', DYNAMODB_PITR: 'false', DYNAMODB_DELETION_PROTECTION: 'false' },
      );
      expect(run).toMatchObject({ code: 0, stdout: '' });
      const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
      expect(Table?.TableStatus).toBe('ACTIVE');
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );

  /**
   * An HTTP proxy to the engine that hands each call's operation (`CreateTable`, ...) to `before`
   * first: it may run what a racing process does; or answer `lose`, and the engine's answer to that
   * call is then dropped with the connection (the engine did the work; the caller never hears); or
   * `drop`, and the call is dropped with the connection before it reaches the engine; or `deny`, and
   * the proxy answers AccessDeniedException itself, as AWS does to a role without the permission.
   * `answers` lists what the caller was told, `<operation> <status> [<error>]`.
   */
  type Fate = 'lose' | 'drop' | 'deny' | undefined;
  async function proxyToEngine(before: (operation: string) => Fate | Promise<Fate>) {
    const engine = new URL(config.dynamo.endpoint!);
    const answers: string[] = [];
    const server = createServer((req, res) => {
      const body: Buffer[] = [];
      req.on('data', (chunk: Buffer) => body.push(chunk));
      req.on('end', () => {
        const operation = String(req.headers['x-amz-target']).split('.').pop()!;
        void Promise.resolve(before(operation)).then((fate) => {
          if (fate === 'drop') return req.socket.destroy();
          if (fate === 'deny') {
            answers.push(`${operation} 400 AccessDeniedException`);
            const denial = { __type: 'com.amazon.coral.service#AccessDeniedException', message: 'not authorized' };
            return res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' }).end(JSON.stringify(denial));
          }
          const call = httpRequest(
            { host: engine.hostname, port: engine.port, path: req.url, method: req.method, headers: req.headers },
            (answer) => {
              const chunks: Buffer[] = [];
              answer.on('data', (chunk: Buffer) => chunks.push(chunk));
              answer.on('end', () => {
                if (fate === 'lose') return req.socket.destroy();
                const text = Buffer.concat(chunks);
                const error = answer.statusCode === 200 ? '' : ` ${JSON.parse(text.toString()).__type.split('#')[1]}`;
                answers.push(`${operation} ${answer.statusCode}${error}`);
                res.writeHead(answer.statusCode!, answer.headers).end(text);
              });
            },
          );
          call.end(Buffer.concat(body));
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      answers,
      close: () => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      },
    };
  }

  /**
   * The built app (`dist/main.js`, `npm start`) on `endpoint` and a new table `name`, creating it as
   * outside production: once it listens, `served` is the status of a listing it answers from the
   * table, then it is stopped; `code` is its exit code, `output` what it printed.
   */
  async function startApp(
    endpoint: string,
    name: string,
  ): Promise<{ code: number | null; served?: number; output: string }> {
    const port = await freePort();
    const app = spawn(process.execPath, [join(process.cwd(), 'dist', 'main.js')], {
      env: { ...commandEnv(endpoint, name), PORT: String(port), DYNAMODB_CREATE_TABLE: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const exited = new Promise<number | null>((resolve) => app.on('exit', (code) => resolve(code)));
    const listening = new Promise<void>((resolve) => {
      const hear = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('API on')) resolve();
      };
      app.stdout.on('data', hear);
      app.stderr.on('data', hear);
    });
    const timer = setTimeout(() => app.kill('SIGKILL'), CHILD_PROCESS_TIMEOUT_MS - 10_000);
    try {
      const code = await Promise.race([exited, listening.then(() => 'listening' as const)]);
      if (code !== 'listening') return { code, output };
      const { status: served } = await fetch(`http://127.0.0.1:${port}/api/v1/posts`);
      app.kill('SIGTERM');
      return { code: await exited, served, output };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * `startApp` on a new table through `proxyToEngine(before)`: what it did, what the proxy passed
   * on, and the table's layout baseline afterwards.
   */
  async function startThroughProxy(before: (operation: string, name: string) => Fate | Promise<Fate>) {
    const name = `test-${nanoid(10)}`;
    tables.push(name);
    const proxy = await proxyToEngine((operation) => before(operation, name));
    try {
      const started = await startApp(proxy.endpoint, name);
      return { started, answers: proxy.answers, baseline: (await readMigrationState(client, name)).baseline };
    } finally {
      await proxy.close();
    }
  }

  it(
    'the app starts and serves on a new table whose CreateTable answer was lost (the SDK retry is told ResourceInUse)',
    async () => {
      let creates = 0;
      const run = await startThroughProxy((operation) =>
        operation === 'CreateTable' && creates++ === 0 ? 'lose' : undefined,
      );
      expect(run.started).toEqual({ code: 0, served: 200, output: expect.any(String) });
      // The first CreateTable made the table unheard; the only answer to a create was ResourceInUse.
      expect(run.answers.filter((answer) => answer.startsWith('CreateTable'))).toEqual([
        'CreateTable 400 ResourceInUseException',
      ]);
      expect(run.baseline).toBe(TABLE_LAYOUT_VERSION);
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );

  it(
    'still refuses, naming the migrations, a table another process made with one user item, when our CreateTable is told ResourceInUse',
    async () => {
      // An older build's process creates the table (same layout, no baseline) and writes a user,
      // between the app's DescribeTable and its CreateTable.
      const run = await startThroughProxy(async (operation, name) => {
        if (operation !== 'CreateTable') return undefined;
        await client.send(new CreateTableCommand(tableDefinition(name)));
        await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 5 }, { TableName: name });
        await client.send(
          new PutItemCommand({
            TableName: name,
            Item: { PK: { S: 'USER#u1' }, SK: { S: 'PROFILE' }, entity: { S: 'User' } },
          }),
        );
        return undefined;
      });
      expect(run.started).toEqual({
        code: 1,
        output: expect.stringMatching(
          /The table needs migrations before this version can start: 0001-index-user-owned-items \(online\), .*Run `npm run db:migrate`/,
        ),
      });
      expect(run.answers).toContain('CreateTable 400 ResourceInUseException');
      expect(run.baseline).toBe(0);
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );

  it(
    'the app starts on a new table when the start-up attempt that created it failed before the baseline and was retried',
    async () => {
      // Every SDK attempt of the first attempt's baseline write (DYNAMODB_MAX_ATTEMPTS, 3) is lost on
      // the way: the start-up attempt fails as unreachable, and waitForDatabase runs it again.
      let puts = 0;
      const run = await startThroughProxy((operation) => (operation === 'PutItem' && ++puts <= 3 ? 'drop' : undefined));
      expect(run.started).toEqual({ code: 0, served: 200, output: expect.stringMatching(/Table test-\S+ created/) });
      // Its CreateTable was answered 200, but time passed: the retry finds no baseline (GetItem) and
      // judges the table as one whose making it did not see (Scan) before writing it.
      expect(run.answers.filter((answer) => /^(CreateTable|PutItem|Scan)/.test(answer))).toEqual([
        'CreateTable 200',
        'Scan 200',
        'PutItem 200',
      ]);
      expect(run.baseline).toBe(TABLE_LAYOUT_VERSION);
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );

  it(
    'the app starts on a new table when every answer to its CreateTable was lost, the first having made it (the start-up attempt is retried)',
    async () => {
      const run = await startThroughProxy((operation) => (operation === 'CreateTable' ? 'lose' : undefined));
      expect(run.started).toEqual({ code: 0, served: 200, output: expect.any(String) });
      // No answer to any create was heard: the retried attempt judged the table from its ACTIVE state.
      expect(run.answers.filter((answer) => /^(CreateTable|PutItem|Scan)/.test(answer))).toEqual([
        'Scan 200',
        'PutItem 200',
      ]);
      expect(run.baseline).toBe(TABLE_LAYOUT_VERSION);
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );

  it(
    'without dynamodb:Scan, the app whose CreateTable is told ResourceInUse by a table another process made and baselined starts, with a warning',
    async () => {
      // Two creators at once (two `db:create-table` runs, say): the other one wins and baselines.
      const run = await startThroughProxy(async (operation, name) => {
        if (operation === 'Scan') return 'deny';
        if (operation === 'CreateTable') await ensureTable({ client, tableName: name });
        return undefined;
      });
      expect(run.started).toEqual({
        code: 0,
        served: 200,
        output: expect.stringMatching(/Could not tell whether the table test-\S+ is new.*dynamodb:Scan/),
      });
      expect(run.answers).toEqual(
        expect.arrayContaining(['CreateTable 400 ResourceInUseException', 'Scan 400 AccessDeniedException']),
      );
      expect(run.baseline).toBe(TABLE_LAYOUT_VERSION);
    },
    CHILD_PROCESS_TIMEOUT_MS,
  );
});
