/**
 * Defects found by the robustness runs in code this folder does not own: `todo` tests while open
 * (so CI stays green until the owners fix them), plain regression tests once fixed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { certificateDer, verifyCertificate } from '@ratls/verifier';
import { parseGatewayConfig } from 'ratls';
import { certLayout } from './lib/der.js';
import { GRAMINE_AT } from './lib/subjects.js';

function typedOnly(run: () => unknown): void {
  try {
    run();
  } catch (e) {
    assert.ok(e instanceof RatlsError, `untyped ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return;
  }
}

// Found by fuzzing, fixed in gateway/config/config.ts: kept as regression tests.
test('gateway config: an alias to a missing anchor is a ConfigError', () => {
  typedOnly(() => parseGatewayConfig('version: 1\npolicy: *missing\n', '/etc/ratls/gateway.yaml'));
});

test('gateway config: an alias bomb is a ConfigError, not a ReferenceError', () => {
  const lines = ['a0: &a0 [x, x, x, x, x, x, x, x, x, x]'];
  for (let i = 1; i <= 6; i++)
    lines.push(
      `a${i}: &a${i} [${Array(10)
        .fill(`*a${i - 1}`)
        .join(', ')}]`,
    );
  typedOnly(() => parseGatewayConfig(`version: 1\n${lines.join('\n')}\n`, '/etc/ratls/gateway.yaml'));
});

// Found by the mutation corpus, fixed in x509-parts.ts (c83404c): kept as a regression test.
test('certificate: outer signatureAlgorithm parameters must equal the TBS field (RFC 5280 §4.1.1.2)', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const der = certificateDer(readVectorText('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem'));
  const alg = certLayout(der).sigAlg;
  const params = alg.children?.[1];
  assert.ok(params, 'the Gramine certificate carries explicit NULL parameters');
  const mutated = der.slice();
  mutated[params.start] = 0xe4; // NULL (05 00) becomes an unknown [4] with no content
  // Same TBS, same signature, different certificate fingerprint: it should not verify.
  await assert.rejects(
    verifyCertificate(mutated, {
      at: GRAMINE_AT,
      collateral: readVectorText('dcap-cases/auto_sgx_2025-08.collateral.json'),
    }),
    (e: unknown) => e instanceof RatlsError,
  );
});
