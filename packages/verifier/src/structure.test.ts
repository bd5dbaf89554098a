/**
 * The package layout the structure issue asks for, checked from source: no import cycles between
 * the folders of any package, no package reaching into another's src/ by path, and in the
 * verifier the decision step (decide/) below the socket adapters (tls/), with nitro/ and snp/
 * independent of each other.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { escapingImports, folderCycles, folderOf, importEdges } from '@ratls/test-support/import-graph';

const PACKAGES = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const SRC_ROOTS = readdirSync(PACKAGES)
  .map((p) => join(PACKAGES, p, 'src'))
  .filter((d) => existsSync(d));
const VERIFIER = join(PACKAGES, 'verifier', 'src');

function folderEdges(root: string, from: string, to: string): string[] {
  return importEdges(root)
    .filter((e) => folderOf(e.from) === from && folderOf(e.to) === to)
    .map((e) => `${e.from} -> ${e.to}`);
}

describe('package structure', () => {
  test('no import cycle between the folders of any package', () => {
    assert.ok(SRC_ROOTS.length >= 4, 'every package has a src/');
    for (const root of SRC_ROOTS) assert.deepEqual(folderCycles(root), [], `${root} has folder cycles`);
  });

  test('no package imports another package by a relative path', () => {
    for (const root of SRC_ROOTS) assert.deepEqual(escapingImports(root), [], `${root} reaches outside its src/`);
  });

  test('the checker sees a cycle when there is one (its own negative test)', () => {
    const fixture = join(PACKAGES, '..', 'test-support', 'fixtures', 'folder-cycle');
    assert.deepEqual(folderCycles(fixture), [['a -> b (a/one.mts -> b/two.mts)', 'b -> a (b/two.mts -> a/one.mts)']]);
    assert.deepEqual(
      escapingImports(fixture).map((e) => e.to),
      ['../outside.mts'],
    );
  });

  test('verifier: nitro/ and snp/ do not import each other; certificate/ takes time from time.ts, not dcap/', () => {
    assert.deepEqual(folderEdges(VERIFIER, 'nitro', 'snp'), []);
    assert.deepEqual(folderEdges(VERIFIER, 'snp', 'nitro'), []);
    const certToDcap = folderEdges(VERIFIER, 'certificate', 'dcap');
    assert.deepEqual(
      certToDcap.filter((e) => !e.startsWith('certificate/appraise-evidence.ts ')),
      [],
      'only the DCAP appraisal hand-off reaches dcap/',
    );
  });

  test('verifier: tls/ holds socket adapters and asks decide/; decide/ never imports tls/', () => {
    assert.deepEqual(folderEdges(VERIFIER, 'decide', 'tls'), []);
    assert.ok(folderEdges(VERIFIER, 'tls', 'decide').length > 0);
    const tlsFiles = new Set(
      importEdges(VERIFIER)
        .flatMap((e) => [e.from, e.to])
        .filter((f) => f.startsWith('tls/')),
    );
    for (const f of tlsFiles) assert.doesNotMatch(f, /peer-verifier|lru|appraise/, `${f} belongs in decide/ or cache/`);
  });
});
