import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO, tempDir } from './gateway-helpers.js';
import { missingTargets, packageTargets, workspacePackages } from './package-targets.js';

function fakePackage(manifest: Record<string, unknown>, files: string[] = []): string {
  const dir = tempDir('ratls-pkg-');
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), '');
  }
  return dir;
}

const CONDITIONS = (name: string) => ({
  development: `./src/${name}.ts`,
  types: `./dist/${name}.d.ts`,
  default: `./dist/${name}.js`,
});

describe('package targets', () => {
  it('every exports and bin target of every workspace package exists (dist ones once built)', () => {
    const dirs = workspacePackages(REPO);
    assert.ok(dirs.length >= 5, `workspaces: ${dirs.join(', ')}`);
    for (const dir of dirs) {
      assert.deepEqual(missingTargets(dir), [], `${dir}/package.json names files that do not exist`);
    }
  });

  it('the CLI exports its library entry and its binary', () => {
    const targets = packageTargets(join(REPO, 'packages/cli')).map((t) => `${t.field}=${t.target}`);
    assert.ok(targets.includes('exports["."]["development"]=./src/index.ts'), targets.join(' '));
    assert.ok(targets.includes('bin["ratls"]=./bin/ratls.mjs'), targets.join(' '));
  });

  it('reports a development target that does not exist', () => {
    const dir = fakePackage({ exports: { '.': CONDITIONS('index'), './sim': CONDITIONS('sim/index') } }, [
      'src/index.ts',
    ]);
    assert.deepEqual(missingTargets(dir), [{ field: 'exports["./sim"]["development"]', target: './src/sim/index.ts' }]);
  });

  it('reports a missing bin, and dist targets only once dist exists', () => {
    const dir = fakePackage({ exports: { '.': CONDITIONS('index') }, bin: { tool: './bin/tool.mjs' } }, [
      'src/index.ts',
    ]);
    assert.deepEqual(
      missingTargets(dir).map((t) => t.field),
      ['bin["tool"]'],
    );
    mkdirSync(join(dir, 'dist'));
    writeFileSync(join(dir, 'dist/index.js'), '');
    assert.deepEqual(
      missingTargets(dir).map((t) => t.field),
      ['exports["."]["types"]', 'bin["tool"]'],
    );
  });

  it('reads string exports, a string bin and main', () => {
    const dir = fakePackage({ exports: './lib.ts', bin: './cli.mjs', main: './lib.ts' }, ['lib.ts']);
    assert.deepEqual(missingTargets(dir), [{ field: 'bin', target: './cli.mjs' }]);
  });
});
