import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '@ratls/test-support/run-cli';
import { readVectorJson, SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';

type Json = Record<string, unknown>;

describe('ratls inspect', { skip: SKIP_NO_VECTORS }, () => {
  test('Gramine CCC certificate: both formats, both quotes bound, same enclave', async () => {
    const r = await runCli(['inspect', vectorPath('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Json;
    assert.deepEqual([...(s.formats as string[])].sort(), ['gramine-legacy', 'tcg-dice']);
    for (const ev of s.evidence as Json[]) {
      assert.deepEqual((ev.binding as Json).ok, true);
      assert.equal(
        (ev.measurements as Json).mrEnclave,
        '0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585',
      );
      assert.equal(ev.debug, true);
    }
  });

  test('human output is an aligned summary naming formats and binding', async () => {
    const r = await runCli(['inspect', vectorPath('ra-tls/ccc-interoperable-ra-tls/intel-sgxsdk-cert.pem')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /formats\s+.*tcg-dice/);
    assert.match(r.stdout, /binding\s+holds/);
    assert.match(r.stdout, /mrEnclave\s+09e218a4be9dadbf7cdc82c45497d6d4f676d3b75445fc37a376f0b65b47de6a/);
  });

  test('quotes (binary and hex text), SNP reports and Nitro documents are recognised', async () => {
    const q = JSON.parse(
      (await runCli(['inspect', vectorPath('tdx/phala-dcap-qvl/tdx-quote.hex'), '--json'])).stdout,
    ) as Json;
    assert.equal(q.kind, 'quote');
    assert.equal(q.tee, 'tdx');
    const bin = JSON.parse(
      (await runCli(['inspect', vectorPath('sgx-dcap/phala-dcap-qvl/sgx_quote.bin'), '--json'])).stdout,
    ) as Json;
    assert.equal(
      (bin.measurements as Json).mrEnclave,
      '33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb',
    );
    const snp = JSON.parse(
      (await runCli(['inspect', vectorPath('sev-snp/google-go-sev-guest/attestation.bin'), '--json'])).stdout,
    ) as Json;
    assert.equal(snp.tee, 'sev-snp');
    const nitro = JSON.parse(
      (await runCli(['inspect', vectorPath('nitro/evervault/test-data/beta/valid-attestation-doc-bytes'), '--json']))
        .stdout,
    ) as Json;
    assert.equal(nitro.tee, 'nitro');
  });

  test('Evervault certificate: the Nitro document in the SAN binds the SPKI', async () => {
    const r = await runCli([
      'inspect',
      vectorPath('nitro/evervault/test-data/beta/non-debug-cert-containing-attestation-document-18-1-23.pem'),
      '--json',
    ]);
    const s = JSON.parse(r.stdout) as Json;
    assert.deepEqual(s.formats, ['nitro-san']);
    assert.equal(((s.evidence as Json[])[0]!.binding as Json).ok, true);
  });

  test('a certificate with no evidence exits 1; garbage exits 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratls-inspect-'));
    const exp = readVectorJson<Json>('expected.json');
    assert.ok(exp);
    const r = await runCli(['inspect', vectorPath('roots/intel_sgx_root_ca.pem'), '--json']);
    assert.equal(r.code, 1);
    assert.deepEqual((JSON.parse(r.stdout) as Json).formats, []);
    writeFileSync(join(dir, 'junk.bin'), Buffer.from([1, 2, 3, 4, 5, 250, 251]));
    assert.equal((await runCli(['inspect', join(dir, 'junk.bin')])).code, 2);
  });
});
