/**
 * The import graph of a package's `src/`, read from source with a regex (no compiler), folded to
 * folders, and its cycles. Used by structure tests: "no import cycles between folders of a
 * package" and "no package imports another's src/ by relative path" (structure issue, acceptance).
 * Only relative specifiers are edges; `import type` counts too, since a type cycle is still a
 * design cycle. Test files (`*.test.ts`) are left out: they may reach across folders.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** One file-level edge: `from` imports `to` (both relative to the src root, POSIX separators). */
export interface ImportEdge {
  from: string;
  to: string;
}

/** `from '…'`, `import('…')`, `export … from '…'` and bare `import '…'`. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'node_modules') sourceFiles(p, out);
    } else if (/\.m?ts$/.test(name) && !/\.test\.ts$/.test(name) && !name.endsWith('.d.ts')) {
      out.push(p);
    }
  }
  return out;
}

const posix = (p: string) => p.split(sep).join('/');

/**
 * Every relative import of the non-test sources under `srcRoot`, as edges between files.
 * @example const edges = importEdges('packages/verifier/src');
 */
export function importEdges(srcRoot: string): ImportEdge[] {
  const root = resolve(srcRoot);
  const edges: ImportEdge[] = [];
  for (const file of sourceFiles(root)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1] as string;
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec).replace(/\.js$/, '.ts');
      edges.push({ from: posix(relative(root, file)), to: posix(relative(root, target)) });
    }
  }
  return edges;
}

/**
 * The node a src-relative file belongs to: its top-level folder, or the file itself when it sits at
 * the root (a root `index.ts` lists every folder and every folder uses a root `result.ts`; that is
 * layering, not a cycle, unless the root file imports back).
 */
export function folderOf(file: string): string {
  const i = file.indexOf('/');
  return i < 0 ? file : file.slice(0, i);
}

/**
 * Cycles between top-level folders (and root files) of `srcRoot`, each as
 * the list of folders around it with the file edges that make each step. Empty when acyclic.
 * @example assert.deepEqual(folderCycles('packages/verifier/src'), []);
 */
export function folderCycles(srcRoot: string): string[][] {
  const graph = new Map<string, Map<string, string>>();
  for (const e of importEdges(srcRoot)) {
    // Two files that both sit at the root are files of one flat folder, not two folders: a cycle
    // between them is a file-level cycle, which this check (folders, per the structure issue) leaves out.
    if (!e.from.includes('/') && !e.to.includes('/')) continue;
    const a = folderOf(e.from);
    const b = folderOf(e.to);
    if (a === b) continue;
    if (!graph.has(a)) graph.set(a, new Map());
    const out = graph.get(a) as Map<string, string>;
    if (!out.has(b)) out.set(b, `${e.from} -> ${e.to}`);
  }
  // Tarjan's strongly connected components: every component of two or more folders is a cycle.
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (on.has(w)) {
        low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) {
        const members = new Set(scc);
        const steps: string[] = [];
        for (const a of scc.sort()) {
          for (const [b, via] of graph.get(a) ?? []) if (members.has(b)) steps.push(`${a} -> ${b} (${via})`);
        }
        cycles.push(steps);
      }
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  return cycles;
}

/**
 * Relative imports under `srcRoot` that leave it (e.g. `../../evidence/src/…`): a package must
 * use another package by its name, never its `src/` by path.
 * @example assert.deepEqual(escapingImports('packages/cli/src'), []);
 */
export function escapingImports(srcRoot: string): ImportEdge[] {
  return importEdges(srcRoot).filter((e) => e.to.startsWith('../'));
}
