import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { link, lstat, rm, unlink } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { type AttributeValue, DescribeTableCommand, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { exportLine } from '../dynamodb-json.js';
import { createProgress, type ProgressStream } from '../progress.js';

export interface ExportOptions {
  client: DynamoDBClient;
  tableName: string;
  /**
   * The file to write; gzip when the name ends in `.gz`. Written as `<out>.partial` (created new,
   * mode 0600: an export holds password hashes and sessions) and given its name at the end by a
   * hard link, which never replaces a file. Neither `<out>` nor `<out>.partial` may exist already,
   * nor may `<out>` appear during the export.
   */
  out: string;
  /** Parallel Scan segments (default: the number of cores). */
  segments?: number;
  /** Items per Scan page (default: DynamoDB's 1 MB pages). */
  pageSize?: number;
  /** Where progress goes (stderr by default). */
  progress?: ProgressStream;
}

export interface ExportSummary {
  items: number;
  /** Bytes of the file as written (compressed when gzip). */
  bytes: number;
  /** Bytes of NDJSON before compression. */
  rawBytes: number;
  seconds: number;
  segments: number;
}

export const defaultSegments = (): number => Math.max(1, Math.min(16, availableParallelism()));

/** Writes and waits when the stream's buffer is full, so a fast Scan cannot fill the memory. */
async function writeChunk(stream: Writable, text: string): Promise<void> {
  if (!stream.write(text)) await once(stream, 'drain');
}

/** An export never replaces a file: the old one may be the only copy of another table. */
async function refuseExisting(out: string): Promise<void> {
  const found = await lstat(out).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (found) throw new Error(`${out} already exists: choose another --out or delete it`);
}

/**
 * Gives the finished export its name without ever replacing a file: `link(2)` fails with EEXIST when
 * something (a file, a symlink) appeared at `out` during the export, where `rename(2)` would have
 * replaced it silently. Then the partial's own name is removed. When the link fails, the complete
 * export stays at `partial` (owner-only), and the error says so.
 */
async function publishExport(partial: string, out: string): Promise<void> {
  try {
    await link(partial, out);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST'
        ? `${out} appeared during the export and was not replaced`
        : `could not name the export ${out} (${(error as Error).message})`;
    throw new Error(`${why}; the complete export is in ${partial}: move it where you want it, or delete it`);
  }
  await unlink(partial);
}

/**
 * `db:export`: every item of the table as NDJSON of DynamoDB JSON (see `dynamodb-json.ts`), read
 * with a parallel Scan: segment `i` of `n` is scanned page by page by its own loop, and the pages
 * are written as they arrive (so the line order is not the key order; sort the lines to compare
 * two exports). Admin tooling: a Scan reads the whole table and costs ~0.5 RCU per 4 KB
 * (eventually consistent), so run it off-peak on a large table.
 */
export async function exportTable(options: ExportOptions): Promise<ExportSummary> {
  const started = performance.now();
  const segments = options.segments ?? defaultSegments();
  if (!Number.isInteger(segments) || segments < 1 || segments > 1000000)
    throw new Error('--segments must be an integer from 1 to 1000000');
  const { Table } = await options.client.send(new DescribeTableCommand({ TableName: options.tableName }));
  const progress = createProgress({ label: 'export', total: Table?.ItemCount ?? 0, stream: options.progress });

  const partial = `${options.out}.partial`;
  await refuseExisting(options.out);
  // 'wx': never write through a file (or a planted symlink) already at `.partial`; 0600: owner only.
  const file = createWriteStream(partial, { flags: 'wx', mode: 0o600 });
  try {
    await once(file, 'open');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      throw new Error(`${partial} already exists (an interrupted export?): delete it and run again`);
    throw error;
  }
  const gzip = options.out.endsWith('.gz') ? createGzip() : undefined;
  if (gzip) gzip.pipe(file);
  const sink: Writable = gzip ?? file;
  const closed = once(file, 'close');
  closed.catch(() => undefined); // awaited below; this only stops an early error being "unhandled"
  // An error on either stream fails the export instead of crashing the process.
  let streamError: Error | undefined;
  for (const stream of [file, gzip]) stream?.on('error', (error: Error) => (streamError ??= error));

  let items = 0;
  let rawBytes = 0;
  const scanSegment = async (segment: number) => {
    let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await options.client.send(
        new ScanCommand({
          TableName: options.tableName,
          Segment: segment,
          TotalSegments: segments,
          ExclusiveStartKey,
          Limit: options.pageSize,
        }),
      );
      const lines = (page.Items ?? []).map((item) => `${exportLine(item)}\n`).join('');
      if (streamError) throw streamError;
      if (lines) await writeChunk(sink, lines);
      rawBytes += Buffer.byteLength(lines);
      items += page.Items?.length ?? 0;
      progress.update(items);
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
  };

  try {
    await Promise.all(Array.from({ length: segments }, (_, segment) => scanSegment(segment)));
    sink.end();
    await closed;
    if (streamError) throw streamError;
  } catch (error) {
    sink.destroy();
    file.destroy();
    await rm(partial, { force: true });
    throw error;
  }
  await publishExport(partial, options.out);
  progress.finish();
  return { items, bytes: file.bytesWritten, rawBytes, seconds: (performance.now() - started) / 1000, segments };
}
