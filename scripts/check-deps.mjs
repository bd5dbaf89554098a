#!/usr/bin/env node
// Checks that each workspace package declares exactly what it imports: every bare specifier its
// shipped sources import is in `dependencies`, every one only its tests import is in
// `devDependencies`, and nothing declared goes unimported. Also checks that each `exports` and
// `bin` target names a real file (a `./dist/x.js` target must have its `./src/x.ts`).
//
// Usage: node scripts/check-deps.mjs [--root DIR] [--json]
// Exit 0 when every package is clean, 1 when any problem is found, 2 on a usage or read error.
//
// Imports are read with TypeScript's own pre-processor (ts.preProcessFile), which sees static,
// type-only, side-effect and dynamic `import()` specifiers and ignores comments and strings.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import ts from 'typescript';

const BUILTINS = new Set(builtinModules);
// The same test-file patterns the package tsconfigs exclude from the build (so from `dist`).
const TEST_FILE = /(\.test\.ts|\.test-helper\.ts)$|(^|\/)(test-[^/]*\.ts|testkit\.ts)$/;
const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs)$/;

function usage(msg) {
  console.error(`check-deps: ${msg}\nusage: node scripts/check-deps.mjs [--root DIR] [--json]`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { root: process.cwd(), json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') o.json = true;
    else if (a === '--root') {
      const v = argv[++i];
      if (!v) usage('--root needs a directory');
      o.root = v;
    } else usage(`unknown argument ${a}`);
  }
  return o;
}

function readJson(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    usage(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The package a bare specifier names ('@scope/name/sub' → '@scope/name'), or null when not bare. */
function packageOf(spec) {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return null;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? '');
  if (BUILTINS.has(name) || BUILTINS.has(spec)) return null;
  return name;
}

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (SOURCE_FILE.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Workspace directories from the root package.json (`packages/*` globs expanded one level). */
function workspaceDirs(root) {
  const pkg = readJson(join(root, 'package.json'));
  const dirs = [];
  for (const w of pkg.workspaces ?? []) {
    if (w.endsWith('/*')) {
      const base = join(root, w.slice(0, -2));
      for (const n of readdirSync(base)) if (existsSync(join(base, n, 'package.json'))) dirs.push(join(base, n));
    } else dirs.push(join(root, w));
  }
  return dirs;
}

/** Each target string of an `exports` value (conditions and subpaths flattened). */
function exportTargets(exp) {
  if (typeof exp === 'string') return [exp];
  if (exp === null || typeof exp !== 'object') return [];
  return Object.values(exp).flatMap(exportTargets);
}

/** A target names a real file: the file itself, or for ./dist/X.js|.d.ts the ./src/X.ts it is built from. */
function targetExists(dir, target) {
  if (existsSync(join(dir, target))) return true;
  const m = /^\.\/dist\/(.+?)(\.d\.ts|\.js)$/.exec(target);
  return m !== null && existsSync(join(dir, 'src', `${m[1]}.ts`));
}

function checkPackage(root, dir) {
  const pkg = readJson(join(dir, 'package.json'));
  const name = pkg.name;
  const deps = new Set(Object.keys(pkg.dependencies ?? {}));
  const devDeps = new Set(Object.keys(pkg.devDependencies ?? {}));
  // A private support package (no build) ships every file it has: all of it is "source".
  const srcDir = existsSync(join(dir, 'src')) ? join(dir, 'src') : dir;
  const src = new Map();
  const test = new Map();
  for (const file of walk(srcDir, [])) {
    const rel = relative(dir, file);
    const into = srcDir !== dir && TEST_FILE.test(rel) ? test : src;
    for (const f of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      const p = packageOf(f.fileName);
      if (p === null || p === name) continue;
      if (!into.has(p)) into.set(p, rel);
    }
  }
  const problems = [];
  for (const [p, file] of src) {
    if (!deps.has(p)) problems.push({ kind: 'missing', dependency: p, field: 'dependencies', file });
  }
  for (const [p, file] of test) {
    if (!src.has(p) && !devDeps.has(p) && !deps.has(p)) {
      problems.push({ kind: 'missing', dependency: p, field: 'devDependencies', file });
    }
  }
  for (const p of deps) {
    if (src.has(p)) continue;
    const why = test.has(p) ? 'imported by tests only: move it to devDependencies' : 'never imported';
    problems.push({ kind: 'unused', dependency: p, field: 'dependencies', reason: why });
  }
  for (const p of devDeps) {
    if (deps.has(p))
      problems.push({ kind: 'unused', dependency: p, field: 'devDependencies', reason: 'also in dependencies' });
    else if (!test.has(p)) {
      const why = src.has(p) ? 'imported by shipped code: move it to dependencies' : 'never imported by tests';
      problems.push({ kind: 'unused', dependency: p, field: 'devDependencies', reason: why });
    }
  }
  const targets = [...exportTargets(pkg.exports), ...exportTargets(pkg.bin)];
  for (const t of targets) {
    if (!targetExists(dir, t)) problems.push({ kind: 'missing-file', target: t, field: 'exports/bin' });
  }
  return { package: name, dir: relative(root, dir) || '.', problems };
}

function describe(p) {
  if (p.kind === 'missing') return `imports ${p.dependency} (${p.file}) but ${p.field} lacks it`;
  if (p.kind === 'unused') return `${p.field} declares ${p.dependency}: ${p.reason}`;
  return `${p.field} target ${p.target} is not a file (nor built from one in src/)`;
}

const opts = parseArgs(process.argv.slice(2));
const report = workspaceDirs(opts.root).map((d) => checkPackage(opts.root, d));
const bad = report.filter((r) => r.problems.length > 0);
if (opts.json) console.log(JSON.stringify(report, null, 2));
else {
  for (const r of report) {
    console.log(`${r.problems.length === 0 ? 'ok  ' : 'FAIL'} ${r.package} (${r.dir})`);
    for (const p of r.problems) console.log(`       ${describe(p)}`);
  }
}
process.exit(bad.length === 0 ? 0 : 1);
