import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandOutput,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { exportLine, type Item } from '../src/admin-tools/dynamodb-json.js';
import { exportTable } from '../src/admin-tools/export/table-export.js';
import { ImportRefused, importTable } from '../src/admin-tools/import/table-import.js';
import { DEMO_USERS, seedDemoData } from '../src/cli/seed-data.js';
import { TaxonomyService } from '../src/taxonomy/taxonomy.service.js';
import {
  exportedLines,
  importFixture,
  scratchDir,
  SEED_FIXTURE,
  silent,
  sortedLines,
  testDatabase,
} from './helpers/data-files.js';
import { createTestApp, signUp, type TestApp } from './helpers/test-app.js';

/** Every attribute type, in an item that fits the declared layout (a seed marker). */
const TYPED_ITEM = {
  PK: { S: 'SEED#types' },
  SK: { S: 'SEED' },
  big: { N: '12345678901234567890.123456789' },
  negative: { N: '-0.5' },
  blob: { B: new Uint8Array([0, 255, 7]) },
  names: { SS: ['b', 'a'] },
  numbers: { NS: ['1', '22'] },
  blobs: { BS: [new Uint8Array([1]), new Uint8Array([2])] },
  nested: { M: { list: { L: [{ NULL: true as const }, { BOOL: true }, { S: 'é' }] } } },
};

async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  try {
    return await work();
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
}

describe('db:export and db:import (e2e)', () => {
  const db = testDatabase();
  const dir = scratchDir();
  let source: TestApp;

  beforeAll(async () => {
    source = await createTestApp();
    await quietly(() => seedDemoData(source.app));
    await db.client.send(new PutItemCommand({ TableName: source.tableName, Item: TYPED_ITEM }));
  });
  afterAll(async () => {
    await source.close();
    await db.drop();
  });

  it('round trip: seed, export (gzip, parallel), import into a new table: identical items, demo accounts sign in, no count drift', async () => {
    const out = join(dir, 'seed.ndjson.gz');
    const progress: string[] = [];
    const summary = await exportTable({
      client: db.client,
      tableName: source.tableName,
      out,
      segments: 4,
      progress: { isTTY: false, write: (text) => progress.push(text) > 0 },
    });
    const exported = sortedLines(out);
    expect(summary.items).toBe(exported.length);
    const counted = await db.client.send(new ScanCommand({ TableName: source.tableName, Select: 'COUNT' }));
    expect(summary.items).toBe(counted.Count);
    expect(summary.bytes).toBeLessThan(summary.rawBytes); // gzip
    expect(progress.at(-1)).toMatch(new RegExp(`^export: ${summary.items} done`));
    expect(existsSync(`${out}.partial`)).toBe(false);

    const target = await createTestApp();
    try {
      const imported = await importTable({
        client: db.client,
        tableName: target.tableName,
        file: out,
        progress: silent,
        checkCounts: async () => (await target.app.get(TaxonomyService).tagCountDrift()).map((d) => d.slug),
      });
      expect(imported).toMatchObject({ written: summary.items, items: summary.items, countProblems: [] });
      expect(existsSync(`${out}.checkpoint.json`)).toBe(false);

      expect(await exportedLines(db.client, target.tableName, dir)).toEqual(exported);
      const typed = await db.client.send(
        new GetItemCommand({ TableName: target.tableName, Key: { PK: TYPED_ITEM.PK, SK: TYPED_ITEM.SK } }),
      );
      expect(typed.Item).toEqual({
        ...TYPED_ITEM,
        names: { SS: expect.arrayContaining(['a', 'b']) },
        numbers: { NS: expect.arrayContaining(['1', '22']) },
        blobs: { BS: expect.arrayContaining([new Uint8Array([1]), new Uint8Array([2])]) },
      });

      for (const demo of DEMO_USERS) {
        const res = await target.api
          .post('/api/v1/auth/login')
          .send({ email: demo.email, password: demo.password })
          .expect(200);
        expect(res.body.user.role).toBe(demo.role);
      }
      const before = await source.api.get('/api/v1/posts').expect(200);
      const after = await target.api.get('/api/v1/posts').expect(200);
      expect(after.body).toEqual(before.body);
      expect(await target.app.get(TaxonomyService).tagCountDrift()).toEqual([]);
    } finally {
      await target.close();
    }
  });

  it('never replaces a file that appeared at --out during the export: it fails, naming it, and leaves the export at .partial', async () => {
    const out = join(dir, 'raced.ndjson');
    // Another process creates `out` while the export runs (its first progress line is drawn at once).
    const progress = {
      write: () => {
        if (!existsSync(out)) writeFileSync(out, 'not ours\n');
        return true;
      },
    };
    await expect(exportTable({ client: db.client, tableName: source.tableName, out, progress })).rejects.toThrow(
      `${out} appeared during the export and was not replaced; the complete export is in ${out}.partial: ` +
        'move it where you want it, or delete it',
    );
    expect(readFileSync(out, 'utf8')).toBe('not ours\n');
    expect(sortedLines(`${out}.partial`)).toEqual(await exportedLines(db.client, source.tableName, dir));
    expect(statSync(`${out}.partial`).mode & 0o777).toBe(0o600);
  });

  it('on a file system without hard links (link(2) fails with EPERM, as on FAT) copies the export to --out created new: exit 0, the partial gone', async () => {
    const out = join(dir, 'no-links.ndjson.gz');
    const noLinks = () =>
      Promise.reject(Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' }));
    const summary = await exportTable({
      client: db.client,
      tableName: source.tableName,
      out,
      progress: silent,
      link: noLinks,
    });
    expect(summary.items).toBeGreaterThan(0);
    expect(sortedLines(out)).toEqual(await exportedLines(db.client, source.tableName, dir));
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('imports the seed fixture into an empty table, and --merge of the same file again changes nothing', async () => {
    const tableName = await db.newTable();
    await importFixture({ client: db.client, tableName });
    const fixture = sortedLines(SEED_FIXTURE);
    expect(await exportedLines(db.client, tableName, dir)).toEqual(fixture);

    await expect(importFixture({ client: db.client, tableName })).rejects.toThrow(
      new ImportRefused(
        `Table ${tableName} already holds items; import into an empty table, or pass --merge to overwrite items with the same keys.`,
      ),
    );
    await importFixture({ client: db.client, tableName, merge: true });
    expect(await exportedLines(db.client, tableName, dir)).toEqual(fixture);
  });

  it('--merge never lowers a user’s session epoch: sessions ended since the export stay ended (review 16a L3)', async () => {
    const user = await signUp(source);
    const phone = (
      await source.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200)
    ).body as { accessToken: string };
    // The user item and both sessions as an export of that moment has them (epoch 0).
    const { Items = [] } = await db.client.send(
      new QueryCommand({
        TableName: source.tableName,
        KeyConditionExpression: 'PK = :pk',
        ExpressionAttributeValues: { ':pk': { S: `USER#${user.userId}` } },
        ConsistentRead: true,
      }),
    );
    const exported = Items.filter((item) => item.SK.S === 'USER' || item.SK.S?.startsWith('SESSION#'));
    expect(exported).toHaveLength(3);
    const file = join(dir, `epochs-${user.userId}.ndjson`);
    writeFileSync(file, exported.map((item) => exportLine(item as Item)).join('\n'));

    // Since the export, a password change ended the phone's session and kept the caller's.
    await source.api
      .post('/api/v1/auth/password')
      .set('authorization', user.bearer)
      .send({ currentPassword: user.password, newPassword: 'changed-pass-9' })
      .expect(204);
    const me = (token: string) => source.api.get('/api/v1/users/me').set('authorization', `Bearer ${token}`);
    await me(phone.accessToken).expect(401);

    await importTable({
      client: db.client,
      tableName: source.tableName,
      file,
      merge: true,
      progress: silent,
      checkpointFile: join(dir, `epochs-${user.userId}.checkpoint.json`),
    });
    // The phone's session item is back from the file, and still ended; the kept session still works.
    const sessions = await db.client.send(
      new QueryCommand({
        TableName: source.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :session)',
        ExpressionAttributeValues: { ':pk': { S: `USER#${user.userId}` }, ':session': { S: 'SESSION#' } },
        ConsistentRead: true,
      }),
    );
    expect(sessions.Items).toHaveLength(2);
    expect((await me(phone.accessToken).expect(401)).body.code).toBe('session_revoked');
    await me(user.accessToken).expect(200);
    const { Item: merged } = await db.client.send(
      new GetItemCommand({
        TableName: source.tableName,
        Key: { PK: { S: `USER#${user.userId}` }, SK: { S: 'USER' } },
        ConsistentRead: true,
      }),
    );
    expect(merged?.sessionEpoch).toEqual({ N: '1' });
    // The rest of the user item is the file's, as for every merged item: the password of the export.
    await source.api.post('/api/v1/auth/login').send({ email: user.email, password: user.password }).expect(200);
  });

  it.each([
    ['malformed JSON', '{"Item":{"PK":', 'line 4: malformed JSON'],
    [
      'an unknown entity',
      '{"Item":{"PK":{"S":"WIDGET#1"},"SK":{"S":"WIDGET"},"entity":{"S":"Widget"}}}',
      'line 4: unknown entity "Widget"',
    ],
    [
      'a key that fits no entity',
      '{"Item":{"PK":{"S":"USER#abc"},"SK":{"S":"NOPE"}}}',
      'line 4: malformed key: PK="USER#abc" SK="NOPE" fits no entity',
    ],
    [
      'a key of another entity',
      '{"Item":{"PK":{"S":"USER#abc"},"SK":{"S":"USER"},"entity":{"S":"Tag"}}}',
      'line 4: malformed key: PK="USER#abc" SK="USER" is not the key of a Tag',
    ],
    ['a missing sort key', '{"Item":{"PK":{"S":"USER#abc"}}}', 'line 4: malformed key: PK and SK are required'],
    [
      'an index key of the wrong type',
      '{"Item":{"PK":{"S":"TAG#a"},"SK":{"S":"TAG"},"GSI5SK":{"S":"3"}}}',
      'line 4: malformed key: GSI5SK must be of type N',
    ],
    [
      'a bad attribute value',
      '{"Item":{"PK":{"S":"TAG#a"},"SK":{"S":"TAG"},"postCount":{"N":"three"}}}',
      'line 4: Item.postCount.N is not a DynamoDB number',
    ],
    // Numbers DynamoDB itself refuses, found before the first write, not by BatchWriteItem after
    // some batches (review 19a L3).
    [
      "a number out of DynamoDB's range",
      '{"Item":{"PK":{"S":"TAG#a"},"SK":{"S":"TAG"},"postCount":{"N":"1e999999"}}}',
      "line 4: Item.postCount.N is outside DynamoDB's range (1E-130 to below 1E+126 in magnitude)",
    ],
    [
      'a number of 39 significant digits',
      `{"Item":{"PK":{"S":"TAG#a"},"SK":{"S":"TAG"},"postCount":{"N":"${'1'.repeat(39)}"}}}`,
      'line 4: Item.postCount.N has more than 38 significant digits (DynamoDB refuses it)',
    ],
    [
      'an attribute named __proto__',
      '{"Item":{"PK":{"S":"TAG#a"},"SK":{"S":"TAG"},"__proto__":{"S":"1"}}}',
      'line 4: Item has an attribute named __proto__, refused',
    ],
  ])('refuses a file with %s, naming the line, and writes nothing', async (_case, badLine, message) => {
    const tableName = await db.newTable();
    const good = readFileSync(SEED_FIXTURE, 'utf8').split('\n').slice(0, 3);
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.ndjson`);
    writeFileSync(file, [...good, badLine, ...good.map((l) => l.replace('CATEGORY#', 'CATEGORY#x'))].join('\n'));
    const before = await exportedLines(db.client, tableName, dir);

    await expect(importTable({ client: db.client, tableName, file, progress: silent })).rejects.toThrow(
      new ImportRefused(message),
    );
    expect(await exportedLines(db.client, tableName, dir)).toEqual(before);
    expect(existsSync(`${file}.checkpoint.json`)).toBe(false);
  });

  it('retries items that BatchWriteItem leaves unprocessed until every one is written', async () => {
    const tableName = await db.newTable();
    let calls = 0;
    let dropped = 0;
    // A client double around the real one: each call writes only its first 7 items and hands the
    // rest back as UnprocessedItems, as DynamoDB does under throttling (DynamoDB Local never does).
    const stingy = {
      send: async (command: unknown) => {
        if (!(command instanceof BatchWriteItemCommand)) return db.client.send(command as never);
        calls++;
        const requests = command.input.RequestItems![tableName];
        if (!requests) return db.client.send(command);
        const written = requests.slice(0, 7);
        const rest = requests.slice(7);
        dropped += rest.length;
        const result: BatchWriteItemCommandOutput = await db.client.send(
          new BatchWriteItemCommand({ RequestItems: { [tableName]: written }, ReturnConsumedCapacity: 'TOTAL' }),
        );
        return { ...result, UnprocessedItems: rest.length ? { [tableName]: rest } : {} };
      },
    } as unknown as DynamoDBClient;

    const summary = await importFixture({
      client: stingy,
      tableName,
      batch: { retryDelayMs: () => 1, maxAttempts: 10 },
    });
    const fixture = sortedLines(SEED_FIXTURE);
    expect(summary.written).toBe(fixture.length);
    expect(dropped).toBeGreaterThan(0);
    expect(calls).toBeGreaterThan(Math.ceil(fixture.length / 25));
    expect(await exportedLines(db.client, tableName, dir)).toEqual(fixture);
  });
});
