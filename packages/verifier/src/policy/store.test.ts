import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { PolicyError } from '@ratls/evidence';
import { type PolicyReloadedEvent, PolicyStore } from './store.js';

const policyText = (name: string) =>
  `version: 1\nidentities:\n  - name: ${name}\n    sgx: { mrSigner: "${'ab'.repeat(32)}" }\n`;

describe('PolicyStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ratls-policy-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses use before load', async () => {
    const s = new PolicyStore();
    assert.throws(
      () => s.current(),
      (e: unknown) => e instanceof PolicyError && e.code === 'ERR_POLICY_NOT_LOADED',
    );
    const r = await s.reload();
    assert.ok(!r.ok && r.error.code === 'ERR_POLICY_NOT_LOADED');
  });

  it('reports an unreadable file with ERR_POLICY_READ', async () => {
    const s = new PolicyStore();
    await assert.rejects(
      s.load(join(dir, 'missing.yaml')),
      (e: unknown) => e instanceof PolicyError && e.code === 'ERR_POLICY_READ',
    );
  });

  it('swaps on a good reload and keeps the old policy on a bad one', async () => {
    const file = join(dir, 'a.yaml');
    await writeFile(file, policyText('one'));
    const s = new PolicyStore();
    const first = await s.load(file);
    assert.equal(s.current().identities[0]?.name, 'one');

    await writeFile(file, policyText('two'));
    const events: PolicyReloadedEvent[] = [];
    s.on('reloaded', (e) => events.push(e));
    const ok = await s.reload();
    assert.ok(ok.ok);
    assert.equal(s.current().identities[0]?.name, 'two');
    assert.equal(ok.hash, s.current().hash);
    assert.deepEqual(events, [{ source: file, hash: ok.hash, previousHash: first.hash, changed: true }]);

    await writeFile(file, 'version: 1\nidentities:\n  - name: three\n    sgx: { mrSigner: "abc" }\n');
    const failed: string[] = [];
    s.on('reload-failed', (e) => failed.push(e.error.code));
    const bad = await s.reload();
    assert.ok(!bad.ok);
    assert.equal(bad.error.code, 'ERR_POLICY_INVALID');
    assert.match(bad.error.message, /a\.yaml:4:/);
    assert.equal(s.current().identities[0]?.name, 'two');
    assert.deepEqual(failed, ['ERR_POLICY_INVALID']);
  });

  it('watch picks up a rename-into-place change', async () => {
    const file = join(dir, 'w.yaml');
    await writeFile(file, policyText('before'));
    const s = new PolicyStore();
    await s.load(file);
    s.watch({ debounceMs: 20 });
    // The watcher is unref'd by design; this ref'd timer keeps the test alive (and bounds it).
    const keepAlive = setTimeout(() => assert.fail('no reload within 5 s'), 5000);
    try {
      const reloaded = once(s, 'reloaded');
      const tmp = join(dir, 'w.yaml.tmp');
      await writeFile(tmp, policyText('after'));
      await rename(tmp, file);
      const [e] = (await reloaded) as [PolicyReloadedEvent];
      assert.equal(e.changed, true);
      assert.equal(s.current().identities[0]?.name, 'after');
    } finally {
      clearTimeout(keepAlive);
      s.close();
    }
  });
});
