// The module graph of src/: which top-level folder imports which, from the import statements.
// `node scripts/module-graph.mjs` prints it as Mermaid; `--write` puts it into docs/architecture.md
// between the markers; src/architecture.spec.ts fails on a loop or on a stale drawing.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SRC = join(root, 'src');
export const ARCHITECTURE_DOC = join(root, 'docs', 'architecture.md');
const BEGIN = '<!-- module-graph:begin (npm run docs:module-graph) -->';
const END = '<!-- module-graph:end -->';

/** Every relative import (static, dynamic, `export ... from`, type-only) of a TypeScript source. */
export function importsOf(code) {
  const specifiers = [];
  for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g))
    specifiers.push(match[1]);
  return specifiers;
}

function sources(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

/**
 * Folder -> folders it imports, each edge with the files that make it. Files at the top of
 * `src/` (main.ts, app.module.ts, app.setup.ts) are the composition root, above every folder:
 * they are left out, as are specs (they may reach into anything they test).
 */
export function folderGraph(src = SRC, files = sources(src).map((path) => [path, readFileSync(path, 'utf8')])) {
  const graph = new Map();
  const folderOf = (path) => {
    const parts = relative(src, path).split(sep);
    return parts.length > 1 ? parts[0] : undefined;
  };
  for (const [path, code] of files) {
    const from = folderOf(path);
    if (!from) continue;
    if (!graph.has(from)) graph.set(from, new Map());
    for (const specifier of importsOf(code)) {
      const target = resolve(dirname(path), specifier);
      const to = folderOf(target);
      if (!to || to === from) continue;
      const edges = graph.get(from);
      if (!edges.has(to)) edges.set(to, []);
      edges.get(to).push(`${relative(src, path)} -> ${relative(src, target)}`);
    }
  }
  return graph;
}

/** The loops: every strongly connected set of two or more folders (Tarjan), each sorted. */
export function folderLoops(graph) {
  let next = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const loops = [];
  const visit = (node) => {
    index.set(node, next);
    low.set(node, next++);
    stack.push(node);
    onStack.add(node);
    for (const to of graph.get(node)?.keys() ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(node, Math.min(low.get(node), low.get(to)));
      } else if (onStack.has(to)) low.set(node, Math.min(low.get(node), index.get(to)));
    }
    if (low.get(node) === index.get(node)) {
      const members = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        members.push(member);
      } while (member !== node);
      if (members.length > 1) loops.push(members.sort());
    }
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return loops;
}

/** Whether `to` can be reached from `from` in two steps or more. */
function reachableIndirectly(graph, from, to) {
  const seen = new Set();
  const pending = [...(graph.get(from)?.keys() ?? [])].filter((next) => next !== to);
  while (pending.length > 0) {
    const node = pending.pop();
    if (seen.has(node)) continue;
    seen.add(node);
    for (const next of graph.get(node)?.keys() ?? []) {
      if (next === to) return true;
      pending.push(next);
    }
  }
  return false;
}

/**
 * The graph as a Mermaid flowchart, one line per edge, sorted, so that a diff shows what changed.
 * Drawn as its transitive reduction: an import that a path through other folders already implies
 * (`posts --> dynamo` beside `posts --> identity --> dynamo`) is left out, or no one could read it.
 */
export function mermaidOf(graph) {
  const lines = ['```mermaid', 'flowchart TD'];
  for (const from of [...graph.keys()].sort()) {
    for (const to of [...graph.get(from).keys()].sort()) {
      if (!reachableIndirectly(graph, from, to)) lines.push(`  ${from} --> ${to}`);
    }
  }
  lines.push('```');
  return lines.join('\n');
}

/** The document with the generated drawing between its markers. */
export function withGraph(doc, graph) {
  const begin = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`docs/architecture.md has no ${BEGIN} ... ${END} markers`);
  return `${doc.slice(0, begin + BEGIN.length)}\n\n${mermaidOf(graph)}\n\n${doc.slice(end)}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const graph = folderGraph();
  const loops = folderLoops(graph);
  if (process.argv.includes('--write')) {
    writeFileSync(ARCHITECTURE_DOC, withGraph(readFileSync(ARCHITECTURE_DOC, 'utf8'), graph));
    console.log('docs/architecture.md: module graph written');
  } else console.log(mermaidOf(graph));
  for (const loop of loops) console.error(`loop: ${loop.join(' <-> ')}`);
  if (loops.length > 0) process.exit(1);
}
