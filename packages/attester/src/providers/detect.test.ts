import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ProviderError } from '@ratls/evidence';
import { ConfigfsTsmProvider, tsmReportDir } from './configfs-tsm.js';
import { detectQuoteProvider } from './detect.js';
import { nodeProviderFs, type ProviderFs } from './fs.js';
import { GramineQuoteProvider } from './gramine.js';

const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});
async function tempRoot(): Promise<string> {
  const r = await mkdtemp(join(tmpdir(), 'ratls-detect-'));
  roots.push(r);
  return r;
}

describe('detectQuoteProvider', () => {
  test('Gramine when /dev/attestation exists', async () => {
    const root = await tempRoot();
    await mkdir(join(root, 'dev', 'attestation'), { recursive: true });
    const p = await detectQuoteProvider({ root });
    assert.ok(p instanceof GramineQuoteProvider);
    assert.equal(p.tee, 'sgx');
  });

  test('configfs-tsm when the report directory exists', async () => {
    const root = await tempRoot();
    await mkdir(tsmReportDir(root), { recursive: true });
    const fs: ProviderFs = {
      ...nodeProviderFs,
      async mkdir(p) {
        await mkdir(p);
        await writeFile(join(p, 'provider'), 'tdx_guest\n');
      },
      rmdir: (p) => rm(p, { recursive: true }),
    };
    const p = await detectQuoteProvider({ root, fs });
    assert.ok(p instanceof ConfigfsTsmProvider);
    assert.equal(p.tee, 'tdx');
  });

  test('nothing found names every path looked at', async () => {
    const root = await tempRoot();
    await assert.rejects(detectQuoteProvider({ root }), (e: unknown) => {
      assert.ok(e instanceof ProviderError);
      assert.equal(e.code, 'ERR_PROVIDER_NOT_FOUND');
      assert.ok(e.message.includes(join(root, 'dev', 'attestation')), e.message);
      assert.ok(e.message.includes(tsmReportDir(root)), e.message);
      return true;
    });
  });
});
