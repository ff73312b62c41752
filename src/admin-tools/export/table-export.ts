import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, open, rm, unlink } from 'node:fs/promises';
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
   * hard link, which never replaces a file (or, on a file system without hard links, by a copy to
   * `<out>` created new: see `publishExport`). Neither `<out>` nor `<out>.partial` may exist
   * already, nor may `<out>` appear during the export.
   */
  out: string;
  /** Parallel Scan segments (default: the number of cores). */
  segments?: number;
  /** Items per Scan page (default: DynamoDB's 1 MB pages). */
  pageSize?: number;
  /** Where progress goes (stderr by default). */
  progress?: ProgressStream;
  /** `link(2)` (`fs.promises.link`): tests pass one that fails as a file system without hard links does. */
  link?: (existing: string, newPath: string) => Promise<void>;
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
 * The codes `link(2)` fails with, as Node names them, where the file system has no hard links
 * (Linux's vfat and exfat: EPERM; CIFS/SMB mounts without the Unix extensions and macOS's msdos:
 * EOPNOTSUPP, which Node calls ENOTSUP; some FUSE file systems: ENOSYS) or will not link across
 * the two names (EXDEV, a bind mount). EPERM has other causes (Linux's `protected_hardlinks` for a
 * file the user does not own), none of which fits the export's own new file.
 */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/**
 * The partial's bytes copied to `out`, created new (`wx`: O_CREAT|O_EXCL, which fails with EEXIST
 * on anything there, a dangling symlink too, and never follows one), owner-only, and flushed to
 * disk (`fsync`) before the partial goes. A copy that fails half-way removes what it wrote: an
 * `out` holding part of an export must not pass for the whole. (It removes it by name: a file put
 * in its place between the failure and the removal, after someone deleted ours, would go instead;
 * nothing does that to a file that was created a moment before.)
 */
async function copyNew(partial: string, out: string): Promise<void> {
  const target = await open(out, 'wx', 0o600);
  try {
    for await (const chunk of createReadStream(partial) as AsyncIterable<Buffer>) {
      for (let done = 0; done < chunk.length;) done += (await target.write(chunk, done)).bytesWritten;
    }
    await target.sync();
  } catch (error) {
    await target.close().catch(() => undefined);
    await rm(out, { force: true });
    throw error;
  }
  await target.close();
}

/**
 * Gives the finished export its name without ever replacing a file: `link(2)` fails with EEXIST when
 * something (a file, a symlink) appeared at `out` during the export, where `rename(2)` would have
 * replaced it silently. Then the partial's own name is removed. On a file system without hard links
 * (`NO_HARD_LINKS`) the partial is copied to `out` created new instead (`copyNew`), which is as
 * safe against replacing a file and costs one more pass over the export's bytes. When neither
 * works, the complete export stays at `partial` (owner-only), and the error says so.
 */
export async function publishExport(
  partial: string,
  out: string,
  linkFile: (existing: string, newPath: string) => Promise<void> = link,
): Promise<'linked' | 'copied'> {
  let how: 'linked' | 'copied' = 'linked';
  try {
    try {
      await linkFile(partial, out);
    } catch (error) {
      if (!NO_HARD_LINKS.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
      how = 'copied';
      await copyNew(partial, out);
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST'
        ? `${out} appeared during the export and was not replaced`
        : `could not name the export ${out} (${(error as Error).message})`;
    throw new Error(`${why}; the complete export is in ${partial}: move it where you want it, or delete it`);
  }
  await unlink(partial);
  return how;
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
  await publishExport(partial, options.out, options.link);
  progress.finish();
  return { items, bytes: file.bytesWritten, rawBytes, seconds: (performance.now() - started) / 1000, segments };
}
