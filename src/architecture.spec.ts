import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHITECTURE_DOC, folderGraph, folderLoops, SRC, withGraph } from '../scripts/module-graph.mjs';
import { byEstimate, estimatedSize } from '../test/sequencer.mjs';

// The module rules of docs/architecture.md, checked on the imports themselves (no build, no Java).
describe('module graph', () => {
  const graph = folderGraph();

  it('has no folder under src/ that imports another in a loop', () => {
    const loops = folderLoops(graph).map((loop) => ({
      loop: loop.join(' <-> '),
      imports: loop.flatMap((from) => loop.flatMap((to) => graph.get(from)?.get(to) ?? [])),
    }));
    expect(loops).toEqual([]);
  });

  it('finds a loop through any number of folders, whatever kind of import closes it', () => {
    const files: [string, string][] = [
      [join(SRC, 'a', 'x.ts'), "import { y } from '../b/y.js';"],
      [join(SRC, 'b', 'y.ts'), "export type { Z } from '../c/deep/z.js';"],
      [join(SRC, 'c', 'deep', 'z.ts'), "const x = await import('../../a/x.js');"],
      [join(SRC, 'd', 'w.ts'), "import '../a/x.js';"],
      [join(SRC, 'root.ts'), "import '../src/d/w.js';"],
    ];
    expect(folderLoops(folderGraph(SRC, files))).toEqual([['a', 'b', 'c']]);
    files.pop();
    files.push([join(SRC, 'a', 'v.ts'), "import type { W } from '../d/w.js';"]);
    expect(folderLoops(folderGraph(SRC, files))).toEqual([['a', 'b', 'c', 'd']]);
  });

  it('is drawn in docs/architecture.md as the imports make it (`npm run docs:module-graph` redraws it)', () => {
    const doc = readFileSync(ARCHITECTURE_DOC, 'utf8');
    expect(withGraph(doc, graph)).toBe(doc);
  });
});

// Grouped e2e files (docs/testing.md): Jest runs only `*.e2e-spec.ts`, so a part that no group
// imports any more would silently stop running (review 4, #10).
describe('grouped e2e files', () => {
  it('has every *.e2e-part.ts under test/ imported by exactly one *.e2e-spec.ts', () => {
    const testDir = join(SRC, '..', 'test');
    const files = readdirSync(testDir);
    const groups = files.filter((file) => file.endsWith('.e2e-spec.ts'));
    // An import statement at the start of a line (a commented-out one does not count).
    const importers = (part: string) =>
      groups.filter((group) =>
        new RegExp(`^import '\\./${part.replace(/\.ts$/, '').replace(/\./g, '\\.')}\\.js';$`, 'm').test(
          readFileSync(join(testDir, group), 'utf8'),
        ),
      );
    const parts = files.filter((file) => file.endsWith('.e2e-part.ts'));
    expect(parts.filter((part) => importers(part).length !== 1)).toEqual([]);
  });
});

// The order of files Jest has not timed (every file in a fresh clone): test/sequencer.mjs.
describe('test order', () => {
  it('weighs a grouped e2e file by the parts it imports, and runs e2e files before unit specs', () => {
    // Made-up files, so that the example holds whatever the real ones come to weigh: a group of a
    // few hundred bytes importing two parts (a third only in a comment), a single e2e file larger
    // than the group by its own bytes, and a unit spec larger than both.
    const files = new Map<string, { bytes: number; text?: string }>([
      [
        '/t/group.e2e-spec.ts',
        { bytes: 300, text: "import './a.e2e-part.js';\nimport './b.e2e-part.js';\n// import './c.e2e-part.js';\n" },
      ],
      ['/t/a.e2e-part.ts', { bytes: 40_000 }],
      ['/t/b.e2e-part.ts', { bytes: 30_000 }],
      ['/t/c.e2e-part.ts', { bytes: 99_000 }],
      ['/t/single.e2e-spec.ts', { bytes: 50_000, text: '' }],
      ['/s/big.spec.ts', { bytes: 500_000, text: "import './a.e2e-part.js';\n" }],
    ]);
    const file = (path: string) => files.get(path) ?? { bytes: Number.NaN };
    const estimate = (path: string) =>
      estimatedSize(
        path,
        (path) => file(path).text ?? '',
        (path) => file(path).bytes,
      );
    expect(estimate('/t/group.e2e-spec.ts')).toBe(300 + 40_000 + 30_000);
    expect(estimate('/t/single.e2e-spec.ts')).toBe(50_000);
    expect(estimate('/s/big.spec.ts')).toBe(500_000); // a unit spec's imports add nothing
    expect(byEstimate(['/s/big.spec.ts', '/t/single.e2e-spec.ts', '/t/group.e2e-spec.ts'], estimate)).toEqual([
      '/t/group.e2e-spec.ts',
      '/t/single.e2e-spec.ts',
      '/s/big.spec.ts',
    ]);
  });

  it('weighs the real grouped file (storage-and-engine) by its own bytes plus those of the parts it imports', () => {
    const testDir = join(SRC, '..', 'test');
    const group = join(testDir, 'storage-and-engine.e2e-spec.ts');
    const parts = [...readFileSync(group, 'utf8').matchAll(/^import '\.\/(.+)\.js';$/gm)].map(([, part]) => part);
    expect(parts.length).toBeGreaterThan(1);
    const partsSize = parts.reduce((sum, part) => sum + statSync(join(testDir, `${part}.ts`)).size, 0);
    expect(estimatedSize(group)).toBe(statSync(group).size + partsSize);
  });
});

// `npm run test:mutation:e2e` mutates functions found by name (stryker.e2e.config.mjs); it is not
// in CI, so a rename broke it unnoticed once (`removeLike` became `async removeLike`). Loading the
// config here fails the unit tier instead.
describe('the scoped e2e mutation config', () => {
  it('finds every function it mutates', async () => {
    const url = new URL('../stryker.e2e.config.mjs', import.meta.url).href;
    const { default: config } = (await import(url)) as { default: { mutate: string[] } };
    expect(config.mutate).toHaveLength(9);
    for (const range of config.mutate) {
      const [, start, end] = /^src\/.+\.ts:(\d+)-(\d+)$/.exec(range) ?? [];
      expect(Number(end) - Number(start)).toBeGreaterThanOrEqual(3);
    }
  });
});
