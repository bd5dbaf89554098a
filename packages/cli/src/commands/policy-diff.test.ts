import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '@ratls/test-support/run-cli';
import { parsePolicy } from '@ratls/verifier';
import { diffPolicies } from './policy-diff.js';

const h = (c: string, n = 32) => c.repeat(n);
const OLD = `version: 1
identities:
  - name: payments
    sgx: { mrEnclave: ["${h('33')}", "${h('34')}"] }
  - name: signer-family
    sgx: { mrSigner: "${h('81')}", isvProdId: 0, minIsvSvn: 3 }
  - name: vm
    snp: { measurement: "${h('5a', 48)}" }
  - name: legacy
    nitro: { pcr0: "${h('11', 48)}" }
`;
const NEW = `version: 2
defaults: { outOfDateGraceDays: 14 }
identities:
  - name: signer-family
    sgx: { mrSigner: "${h('81')}", isvProdId: 0, minIsvSvn: 4 }
  - name: payments-v2
    sgx: { mrEnclave: ["${h('33')}", "${h('34')}"] }
  - name: vm
    snp: { measurement: "${h('5a', 48)}" }
    tcbStatus: [UpToDate]
waivers:
  - { name: tcb-r, tcbStatus: [OutOfDate], until: 2026-04-01, reason: rollout }
`;

describe('policy diff', () => {
  it('explains renames, removals, tightened pins and conditions, order, waivers and the version', () => {
    const changes = diffPolicies(parsePolicy(OLD), parsePolicy(NEW));
    const text = changes.map((c) => `${c.kind} ${c.detail}`);
    const expect = [
      /^version version 1 → 2: SEV-SNP identities without vmpl now require VMPL 0$/,
      /^defaults defaults\.outOfDateGraceDays now pinned: 14$/,
      /^renamed payments renamed to payments-v2 \(same measurements\)$/,
      /^changed signer-family: sgx\.minIsvSvn: 3 → 4$/,
      /^changed vm: snp\.vmpl now pinned: 0$/,
      /^changed vm: tcbStatus: -SWHardeningNeeded$/,
      /^removed legacy removed: its peers are refused$/,
      /^reordered match order payments-v2, signer-family, vm → signer-family, payments-v2, vm \(the first match names the peer\)$/,
      /^waiver waiver tcb-r added until 2026-04-01T00:00:00\.000Z: rollout$/,
    ];
    for (const re of expect)
      assert.ok(
        text.some((t) => re.test(t)),
        `${re} not in\n${text.join('\n')}`,
      );
    assert.ok(
      text.every((t) => !/payments: /.test(t)),
      'a renamed identity is not also reported as added',
    );
  });

  it('the same file has no changes', () => {
    assert.deepEqual(diffPolicies(parsePolicy(OLD), parsePolicy(OLD)), []);
  });

  describe('CLI', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratls-diff-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    it('exits 1 with changes, 0 without, 2 on an invalid file; --json lists them', async () => {
      const a = join(dir, 'old.yaml');
      const b = join(dir, 'new.yaml');
      const bad = join(dir, 'bad.yaml');
      writeFileSync(a, OLD);
      writeFileSync(b, NEW);
      writeFileSync(bad, 'version: 2\nidentities: []\n');
      const r = await runCli(['policy', 'diff', a, b]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /renamed\s+payments renamed to payments-v2/);
      const j = await runCli(['policy', 'diff', a, b, '--json']);
      const parsed = JSON.parse(j.stdout) as { changes: { kind: string }[] };
      assert.ok(parsed.changes.some((c) => c.kind === 'removed'));
      assert.equal((await runCli(['policy', 'diff', a, a])).code, 0);
      assert.equal((await runCli(['policy', 'diff', a, bad])).code, 2);
    });
  });
});
