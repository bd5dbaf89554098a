/**
 * scripts/check-deps.mjs: the real workspace declares exactly what it imports, and a made-up
 * workspace with each kind of fault is reported fault by fault (the script run as a process).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCRIPT = join(HERE, 'check-deps.mjs');
const ROOT = join(HERE, '..');

interface Problem {
  kind: 'missing' | 'unused' | 'missing-file';
  dependency?: string;
  field: string;
  target?: string;
}
interface PackageReport {
  package: string;
  dir: string;
  problems: Problem[];
}

function run(root: string): { status: number | null; report: PackageReport[] } {
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root, '--json'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.stderr, '');
  return { status: r.status, report: JSON.parse(r.stdout) as PackageReport[] };
}

function write(root: string, rel: string, text: string): void {
  mkdirSync(dirname(join(root, rel)), { recursive: true });
  writeFileSync(join(root, rel), text);
}

describe('check-deps', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ratls-check-deps-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('every workspace package declares exactly what it imports', () => {
    const { status, report } = run(ROOT);
    const names = report.map((r) => r.package);
    for (const p of ['@ratls/evidence', '@ratls/attester', '@ratls/sim', '@ratls/verifier', 'ratls']) {
      assert.ok(names.includes(p), `${p} is checked`);
    }
    assert.deepEqual(
      report.filter((r) => r.problems.length > 0),
      [],
    );
    assert.equal(status, 0);
  });

  test('missing, unused, misplaced and dangling entries are each reported', () => {
    write(tmp, 'package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/*'] }));
    write(
      tmp,
      'packages/a/package.json',
      JSON.stringify({
        name: '@x/a',
        exports: { '.': { development: './src/index.ts', default: './dist/index.js' }, './gone': './dist/gone.js' },
        dependencies: { 'never-used': '1.0.0', 'tests-only': '1.0.0', declared: '1.0.0' },
        devDependencies: { 'dev-unused': '1.0.0', 'shipped-dev': '1.0.0' },
      }),
    );
    write(
      tmp,
      'packages/a/src/index.ts',
      [
        "import { readFileSync } from 'node:fs';",
        "import path from 'path';",
        "import type { T } from 'undeclared-types/sub';",
        "import { d } from '@x/a/self';",
        "import { declared } from 'declared';",
        "export { s } from 'shipped-dev';",
        "import './local.js';",
        "/** @example import { ghost } from 'in-a-comment' */",
        "const lazy = () => import('@scope/lazy/deep');",
        'const text = "import \'in-a-string\'";',
        'export { readFileSync, path, d, declared, lazy, text };',
        'export type { T };',
      ].join('\n'),
    );
    write(tmp, 'packages/a/src/local.ts', 'export {};\n');
    write(tmp, 'packages/a/src/index.test.ts', "import 'tests-only';\nimport 'test-undeclared';\nimport 'declared';\n");
    const { status, report } = run(tmp);
    assert.equal(status, 1);
    assert.equal(report.length, 1);
    const got = (report[0] as PackageReport).problems
      .map((p) => `${p.kind} ${p.field} ${p.dependency ?? p.target}`)
      .sort();
    assert.deepEqual(
      got,
      [
        'missing dependencies @scope/lazy',
        'missing dependencies undeclared-types',
        'missing devDependencies test-undeclared',
        'missing-file exports/bin ./dist/gone.js',
        'unused dependencies never-used',
        'unused dependencies tests-only',
        'unused devDependencies dev-unused',
        'missing dependencies shipped-dev',
        'unused devDependencies shipped-dev',
      ].sort(),
    );
  });

  test('a clean package passes', () => {
    const dir = join(tmp, 'clean');
    write(dir, 'package.json', JSON.stringify({ name: 'root', private: true, workspaces: ['packages/b'] }));
    write(
      dir,
      'packages/b/package.json',
      JSON.stringify({
        name: '@x/b',
        exports: { '.': './dist/index.js' },
        dependencies: { lib: '1.0.0' },
        devDependencies: { tester: '1.0.0' },
      }),
    );
    write(dir, 'packages/b/src/index.ts', "export { f } from 'lib';\n");
    write(dir, 'packages/b/src/index.test.ts', "import 'tester';\nimport 'lib';\n");
    const { status, report } = run(dir);
    assert.deepEqual(report, [{ package: '@x/b', dir: 'packages/b', problems: [] }]);
    assert.equal(status, 0);
  });
});
