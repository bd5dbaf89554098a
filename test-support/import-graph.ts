/**
 * The import graph of one package's sources, read with a regular expression (no TypeScript
 * program, no dependency), and the cycles between its folders. A folder is any directory below
 * `src`; a file imports a folder when it imports a file directly inside it. A folder importing its
 * own subfolder is an edge like any other, so `gateway/ → gateway/http/ → gateway/` is a cycle.
 * The files directly in `src` are not a folder: they are the package's entry (`index.ts` lists
 * every folder) and its shared leaves (`errors.ts`), which every folder may import.
 * Tests are left out by default: a test may exercise two folders together without tying them.
 *
 * @example
 * const cycles = folderCycles(importGraph('packages/cli/src'));
 * assert.deepEqual(cycles, []);
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

/** Relative imports of one file: `from './x.js'`, `import './x.js'`, `import('./x.js')`, `export … from`. */
const RELATIVE_SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

/** Files (relative to the root, `/`-separated) and the files each one imports. */
export type ImportGraph = Map<string, Set<string>>;

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (/\.(?:ts|mts)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const posix = (p: string) => p.split(sep).join('/');

/** NodeNext specifiers name the emitted `.js`; the source is the `.ts` beside it. */
function resolveSource(fromFile: string, specifier: string): string | undefined {
  const target = resolve(dirname(fromFile), specifier);
  for (const candidate of [target.replace(/\.js$/, '.ts'), target.replace(/\.mjs$/, '.mts'), target]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/**
 * Every relative import between the `.ts` files under `root` (`*.test.ts` only with `tests: true`).
 * Imports that leave `root` are ignored (another package's `src` is the workspace checker's business).
 * @example importGraph('packages/cli/src').get('main.ts') // Set { 'gateway/index.ts', … }
 */
export function importGraph(root: string, opts: { tests?: boolean } = {}): ImportGraph {
  const abs = resolve(root);
  const graph: ImportGraph = new Map();
  for (const file of sourceFiles(abs)) {
    if (!opts.tests && /\.test\.ts$/.test(file)) continue;
    const text = readFileSync(file, 'utf8');
    const deps = new Set<string>();
    for (const m of text.matchAll(RELATIVE_SPECIFIER)) {
      const target = resolveSource(file, m[1] as string);
      if (!target) continue;
      const rel = relative(abs, target);
      if (rel.startsWith('..')) continue;
      deps.add(posix(rel));
    }
    graph.set(posix(relative(abs, file)), deps);
  }
  return graph;
}

/** `a/b/c.ts` → `a/b`; a file at the root is in folder `.`. */
export function folderOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '.' : file.slice(0, i);
}

/**
 * Folder-level edges, each with one file import that makes it (for the failure message).
 * @example folderEdges(graph).get('gateway')?.get('gateway/http') // 'gateway/listener.ts → gateway/http/server.ts'
 */
export function folderEdges(graph: ImportGraph): Map<string, Map<string, string>> {
  const edges = new Map<string, Map<string, string>>();
  for (const [file, deps] of graph) {
    const from = folderOf(file);
    for (const dep of deps) {
      const to = folderOf(dep);
      if (to === from || from === '.' || to === '.') continue;
      const out = edges.get(from) ?? new Map<string, string>();
      if (!out.has(to)) out.set(to, `${file} → ${dep}`);
      edges.set(from, out);
    }
  }
  return edges;
}

/**
 * The folder cycles, one per strongly connected component of more than one folder (Tarjan), each
 * given as the folders in it and the file imports that tie them. Empty when the folders layer.
 * @example folderCycles(importGraph('packages/cli/src')) // []
 */
export function folderCycles(graph: ImportGraph): Array<{ folders: string[]; imports: string[] }> {
  const edges = folderEdges(graph);
  const nodes = new Set<string>([...graph.keys()].map(folderOf).filter((f) => f !== '.'));
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, idx.get(w) as number));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const v of [...nodes].sort()) if (!idx.has(v)) visit(v);
  return components.map((folders) => {
    const inside = new Set(folders);
    const imports: string[] = [];
    for (const f of folders) {
      for (const [to, why] of edges.get(f) ?? []) if (inside.has(to)) imports.push(why);
    }
    return { folders, imports: imports.sort() };
  });
}
