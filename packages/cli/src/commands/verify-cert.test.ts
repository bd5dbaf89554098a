import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli } from '@ratls/test-support/run-cli';
import { SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';

type Json = Record<string, unknown>;
const CCC = 'ra-tls/ccc-interoperable-ra-tls';
const COLLATERAL = vectorPath('dcap-cases/auto_sgx_2025-08.collateral.json');
const AT = '1756530546'; // inside auto_sgx_2025-08's window

describe('ratls verify-cert and policy', { skip: SKIP_NO_VECTORS }, () => {
  test('Gramine CCC certificate verifies: debug and OutOfDate are facts, not failures', async () => {
    const r = await runCli([
      'verify-cert',
      vectorPath(`${CCC}/gramine-cert.pem`),
      '--collateral',
      COLLATERAL,
      '--at',
      AT,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const s = JSON.parse(r.stdout) as Json;
    assert.equal(s.ok, true);
    assert.equal(s.debug, true);
    assert.equal(s.tcbStatus, 'OutOfDate');
    assert.match((s.certificate as Json).subject as string, /CN=RATLS/);
    assert.deepEqual(((s.binding as Json).formats as string[]).sort(), ['gramine-legacy', 'tcg-dice']);
  });

  test('rats-tls certificate is refused: its X.509 validity ended in 2024', async () => {
    const r = await runCli([
      'verify-cert',
      vectorPath(`${CCC}/rats-tls-cert.pem`),
      '--collateral',
      COLLATERAL,
      '--at',
      AT,
      '--json',
    ]);
    assert.equal(r.code, 1);
    assert.equal(((JSON.parse(r.stdout) as Json).error as Json).code, 'ERR_CERT_EXPIRED');
  });

  test('Intel SGX SDK certificate: no collateral for its FMSPC, refused', async () => {
    const r = await runCli([
      'verify-cert',
      vectorPath(`${CCC}/intel-sgxsdk-cert.pem`),
      '--collateral',
      COLLATERAL,
      '--at',
      AT,
      '--json',
    ]);
    assert.equal(r.code, 1);
    assert.match(((JSON.parse(r.stdout) as Json).error as Json).code as string, /FMSPC/);
  });

  test('2018 sgx-ra-tls certificate chains to a non-production root: refused', async () => {
    const r = await runCli([
      'verify-cert',
      vectorPath('ra-tls/legacy-sgx-ra-tls-preproduction/ecdsa-ratls.der'),
      '--collateral',
      COLLATERAL,
      '--at',
      '1546300800',
      '--json',
    ]);
    assert.equal(r.code, 1, r.stdout);
  });

  test('policy check: valid exits 0 with its hash; a mistake exits 2 naming the line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratls-policy-'));
    const good = join(dir, 'good.yaml');
    writeFileSync(
      good,
      'version: 1\nidentities:\n  - name: gramine-demo\n    sgx: { mrEnclave: ["0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585"] }\n',
    );
    const ok = await runCli(['policy', 'check', good, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match((JSON.parse(ok.stdout) as Json).policyHash as string, /^[0-9a-f]{64}$/);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'version: 1\nidentities:\n  - name: short\n    sgx: { mrEnclave: ["0866e7"] }\n');
    const r = await runCli(['policy', 'check', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml:4:/);
  });

  test('policy test: the debug Gramine enclave is rejected by default and accepted when the policy says so by name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratls-policy-'));
    const strict = join(dir, 'strict.yaml');
    writeFileSync(
      strict,
      'version: 1\nidentities:\n  - name: gramine-demo\n    sgx: { mrEnclave: ["0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585"] }\n',
    );
    const cert = vectorPath(`${CCC}/gramine-cert.pem`);
    const r = await runCli(['policy', 'test', strict, cert, '--collateral', COLLATERAL, '--at', AT, '--json']);
    assert.equal(r.code, 1);
    const d = JSON.parse(r.stdout) as Json;
    assert.equal(d.decision, 'reject');
    const codes = (d.reasons as Json[]).map((x) => x.code);
    assert.ok(codes.includes('debug_not_allowed') || codes.includes('tcb_status_not_allowed'), JSON.stringify(codes));
    const lax = join(dir, 'lax.yaml');
    writeFileSync(
      lax,
      'version: 1\nidentities:\n  - name: gramine-demo\n    sgx: { mrEnclave: ["0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585"] }\n    debug: true\n    tcbStatus: [UpToDate, SWHardeningNeeded, OutOfDate]\n',
    );
    const a = await runCli(['policy', 'test', lax, cert, '--collateral', COLLATERAL, '--at', AT, '--json']);
    assert.equal(a.code, 0, a.stdout);
    const acc = JSON.parse(a.stdout) as Json;
    assert.equal(acc.decision, 'accept');
    assert.equal(acc.identity, 'gramine-demo');
    const wrong = join(dir, 'wrong.yaml');
    writeFileSync(
      wrong,
      'version: 1\nidentities:\n  - name: payments\n    sgx: { mrEnclave: ["33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb"] }\n',
    );
    const w = await runCli(['policy', 'test', wrong, cert, '--collateral', COLLATERAL, '--at', AT, '--json']);
    assert.equal(w.code, 1);
    assert.ok(((JSON.parse(w.stdout) as Json).reasons as Json[]).some((x) => x.code === 'measurement_mismatch'));
  });
});
