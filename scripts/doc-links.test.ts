import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { brokenDocLinks } from './doc-links.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

describe('doc links', () => {
  test('README.md and docs/ have no broken relative link or anchor', () => {
    assert.deepEqual(brokenDocLinks(ROOT), []);
  });

  test('the check finds a missing file and a missing anchor, and nothing in code or external links', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratls-doc-links-'));
    try {
      mkdirSync(join(dir, 'docs'));
      writeFileSync(join(dir, 'docs', 'a.md'), '# A page\n\n## Rotation `now`, again\n\n## Rotation now again\n');
      writeFileSync(
        join(dir, 'README.md'),
        [
          '# Top',
          'See [a](docs/a.md), [its section](docs/a.md#rotation-now-again), [the repeat](docs/a.md#rotation-now-again-1),',
          '[here](#top) and [the site](https://example.com/nope.md).',
          'Broken: [gone](docs/gone.md) and [no such heading](docs/a.md#rotation-later).',
          'In code: `[x](docs/also-gone.md)`',
          '```',
          '[y](docs/fenced-gone.md)',
          '```',
          '[ref]: ./docs/ref-gone.md',
        ].join('\n'),
      );
      assert.deepEqual(
        brokenDocLinks(dir).map((b) => `${b.file}:${b.line} ${b.why} ${b.target}`),
        [
          'README.md:4 missing file docs/gone.md',
          'README.md:4 missing anchor docs/a.md#rotation-later',
          'README.md:9 missing file ./docs/ref-gone.md',
        ],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
