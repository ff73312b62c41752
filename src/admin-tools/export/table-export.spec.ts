import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishExport } from './table-export.js';

/** `link(2)` failing with `code`, as on a file system without hard links (FAT: EPERM; SMB: ENOTSUP). */
const failingLink = (code: string) => () =>
  Promise.reject(Object.assign(new Error(`${code}: operation not permitted, link`), { code }));

describe('publishExport: the finished export gets its name and never replaces a file', () => {
  let dir: string;
  let partial: string;
  let out: string;
  const EXPORT = '{"Item":{"PK":{"S":"USER#1"}}}\n'.repeat(5000); // ~150 KB: more than one read of the copy

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'export-publish-'));
    out = join(dir, 'backup.ndjson');
    partial = `${out}.partial`;
    writeFileSync(partial, EXPORT, { mode: 0o600 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('links it where the file system has hard links, and removes the partial', async () => {
    expect(await publishExport(partial, out)).toBe('linked');
    expect(readFileSync(out, 'utf8')).toBe(EXPORT);
    expect(existsSync(partial)).toBe(false);
  });

  it.each(['EPERM', 'ENOTSUP', 'ENOSYS', 'EXDEV'])(
    'copies it to a new file where link(2) fails with %s (no hard links): owner-only, complete, the partial removed',
    async (code) => {
      expect(await publishExport(partial, out, failingLink(code))).toBe('copied');
      expect(readFileSync(out, 'utf8')).toBe(EXPORT);
      expect(statSync(out).mode & 0o777).toBe(0o600);
      expect(existsSync(partial)).toBe(false);
    },
  );

  it('without hard links, still never replaces a file (or a symlink) that appeared at the name', async () => {
    writeFileSync(out, 'not ours\n');
    const expected = `${out} appeared during the export and was not replaced; the complete export is in ${partial}: move it where you want it, or delete it`;
    await expect(publishExport(partial, out, failingLink('EPERM'))).rejects.toThrow(expected);
    expect(readFileSync(out, 'utf8')).toBe('not ours\n');
    expect(readFileSync(partial, 'utf8')).toBe(EXPORT);

    // A dangling symlink: the copy neither follows it (creating its target) nor replaces it.
    rmSync(out);
    const target = join(dir, 'elsewhere');
    symlinkSync(target, out);
    await expect(publishExport(partial, out, failingLink('ENOTSUP'))).rejects.toThrow(expected);
    expect(existsSync(target)).toBe(false);
    expect(readFileSync(partial, 'utf8')).toBe(EXPORT);
  });

  it('any other link failure leaves the export at the partial, naming the error, with nothing at the name', async () => {
    await expect(publishExport(partial, out, failingLink('EACCES'))).rejects.toThrow(
      `could not name the export ${out} (EACCES: operation not permitted, link); the complete export is in ${partial}`,
    );
    expect(existsSync(out)).toBe(false);
    expect(readFileSync(partial, 'utf8')).toBe(EXPORT);
  });

  it('a copy that fails half-way removes what it wrote: a partial copy must not pass for the export', async () => {
    rmSync(partial);
    mkdirSync(partial); // reading it fails (EISDIR) after the new file was created
    await expect(publishExport(partial, out, failingLink('EPERM'))).rejects.toThrow(
      `could not name the export ${out} (EISDIR`,
    );
    expect(existsSync(out)).toBe(false);
    expect(statSync(partial).isDirectory()).toBe(true);
  });
});
