import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from './main.js';
import { RATLS_VERSION } from './version.js';

const SRC = fileURLToPath(new URL('.', import.meta.url));
const manifest = JSON.parse(readFileSync(join(SRC, '../package.json'), 'utf8')) as { version: string };

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

describe('RATLS_VERSION', () => {
  it('is the package.json version, a semver string', () => {
    assert.equal(RATLS_VERSION, manifest.version);
    assert.match(RATLS_VERSION, /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/);
  });

  it('is what `ratls --version` prints', async () => {
    const out: string[] = [];
    assert.equal(await main(['node', 'ratls', '--version'], { out: (l) => out.push(l), err: () => undefined }), 0);
    assert.deepEqual(out, [RATLS_VERSION]);
  });

  it('is written nowhere else in the CLI sources', () => {
    const literal = new RegExp(`['"\`]${RATLS_VERSION.replace(/\./g, '\\.')}['"\`]`);
    const copies = sources(SRC).filter((f) => literal.test(readFileSync(f, 'utf8')));
    assert.deepEqual(copies, []);
  });
});
