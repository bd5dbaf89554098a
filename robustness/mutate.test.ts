/**
 * CI slice of the mutation corpus (`npm run mutate` is the full run): ≥ 1,000 mutants of signed
 * bytes in real and simulated quotes, collateral and RA-TLS certificates, plus splices, each
 * refused with a typed RatlsError within a per-mutant timeout.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { mutationRun } from './lib/mutation-run.js';

test('mutation corpus slice: every mutant refused with a typed error', {
  skip: SKIP_NO_VECTORS,
  timeout: 180_000,
}, async () => {
  const r = await mutationRun({ seed: 7, perRegion: 2, workers: 2, timeoutMs: 15_000 });
  const t = r.tally.total();
  assert.ok(t.generated >= 1000, `only ${t.generated} mutants`);
  assert.equal(t.generated, r.planned);
  assert.deepEqual(r.tally.findings, [], r.tally.table());
  assert.equal(t.accepted + t.untyped + t.hang, 0);
  // Every signed region of the brief is exercised.
  for (const region of [
    'header',
    'body',
    'report-data',
    'quote-signature',
    'attestation-key',
    'qe-report',
    'qe-report-signature',
    'qe-auth-data',
    'pck-chain',
    'pck-pem-framing',
    'tcb-info',
    'qe-identity',
    'pck-crl',
    'root-ca-crl',
    'cert-tbs',
    'cert-extension',
    'cert-dice-claims',
    'resigned-quote',
    'resigned-dice-claims',
    'splice-quote',
    'splice-collateral',
    'splice-time',
  ]) {
    assert.ok((r.tally.byRegion.get(region)?.refused ?? 0) > 0, `no refused mutant in ${region}`);
  }
});
