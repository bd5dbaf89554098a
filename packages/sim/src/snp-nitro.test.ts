/**
 * Simulated SEV-SNP and Nitro certificates through the real verifier (@ratls/verifier, test-only
 * import): build → extract → bind → appraise, and the negatives (another key, spliced report,
 * debug policy, untrusted root).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildRaTlsCertificate, generateKeyPair } from '@ratls/attester';
import { x509 } from '@ratls/attester/x509';
import {
  DICE_TAG_NITRO,
  DICE_TAG_SEV_SNP,
  encodeDiceTaggedEvidence,
  OID_DICE_TAGGED_EVIDENCE,
  parseRatlsCertificate,
  RatlsError,
} from '@ratls/evidence';
import { verifyCertificate } from '@ratls/verifier';
import {
  loadNitroSimulation,
  loadSnpSimulation,
  type SimNitroState,
  type SimSnpState,
  SimulatedNitroProvider,
  SimulatedSnpProvider,
} from './index.js';

const MEAS = 'ab'.repeat(48);
let dir: string;
let snp: SimSnpState;
let nitro: SimNitroState;
let arkPem: string;
let nitroRoot: string;

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof RatlsError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-sim-snp-nitro-'));
  snp = await loadSnpSimulation(dir);
  nitro = await loadNitroSimulation(dir);
  arkPem = await readFile(join(dir, 'snp', 'ark.pem'), 'utf8');
  nitroRoot = await readFile(join(dir, 'nitro', 'root.pem'), 'utf8');
});
after(async () => rm(dir, { recursive: true, force: true }));

describe('simulated SEV-SNP certificates', () => {
  test('round trip: DICE tag 0x1a7504, cert table in endorsements, simulated result', async () => {
    const keyPair = await generateKeyPair();
    const cert = await buildRaTlsCertificate({
      keyPair,
      provider: new SimulatedSnpProvider(snp, { measurement: MEAS }),
    });
    const parts = parseRatlsCertificate(cert.der);
    assert.equal(parts.evidence[0]?.tee, 'sev-snp');
    assert.equal(parts.evidence[0]?.diceTag, DICE_TAG_SEV_SNP);
    assert.ok(parts.endorsements, 'cert table carried');
    const v = await verifyCertificate(cert.pem, { at: new Date(), snp: { trustAnchors: [arkPem] } });
    assert.equal(v.result.tee, 'sev-snp');
    assert.equal(v.result.simulated, true);
    assert.equal(v.result.debug, false);
    if (v.result.tee !== 'sev-snp') throw new Error('unreachable');
    assert.equal(v.result.measurements.measurement, MEAS);
    assert.deepEqual(v.binding.rules, ['dice-claims']);
    // Reloading the folder gives the same hierarchy.
    const again = await loadSnpSimulation(dir);
    assert.equal(again.arkPem, snp.arkPem);
  });

  test('without the cert table: --vcek and --chain style options', async () => {
    const keyPair = await generateKeyPair();
    const provider = new SimulatedSnpProvider(snp, { omitCertTable: true });
    const cert = await buildRaTlsCertificate({ keyPair, provider });
    assert.equal(parseRatlsCertificate(cert.der).endorsements, undefined);
    const v = await verifyCertificate(cert.pem, {
      at: new Date(),
      snp: { vcek: snp.vcekPem, chain: snp.chainPem, trustAnchors: [arkPem] },
    });
    assert.equal(v.result.simulated, true);
    // Missing VCEK and no KDS: refused.
    await rejectsCode(
      verifyCertificate(cert.pem, { at: new Date(), snp: { trustAnchors: [arkPem] } }),
      'ERR_SNP_COLLATERAL_MISSING',
    );
  });

  test('debug policy bit is reported', async () => {
    const keyPair = await generateKeyPair();
    const cert = await buildRaTlsCertificate({ keyPair, provider: new SimulatedSnpProvider(snp, { debug: true }) });
    const v = await verifyCertificate(cert.pem, { at: new Date(), snp: { trustAnchors: [arkPem] } });
    assert.equal(v.result.debug, true);
  });

  test('the simulated ARK is not trusted by default', async () => {
    const keyPair = await generateKeyPair();
    const cert = await buildRaTlsCertificate({ keyPair, provider: new SimulatedSnpProvider(snp) });
    await rejectsCode(verifyCertificate(cert.pem, { at: new Date() }), 'ERR_SNP_ARK_UNTRUSTED');
  });

  test('another key: evidence spliced into a certificate for a different key fails the binding', async () => {
    const a = await generateKeyPair();
    const b = await generateKeyPair();
    const certA = await buildRaTlsCertificate({ keyPair: a, provider: new SimulatedSnpProvider(snp) });
    const ext = parseRatlsCertificate(certA.der).evidence[0];
    assert.ok(ext);
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '05',
      name: 'CN=forged',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      keys: b.cryptoKeys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.Extension(OID_DICE_TAGGED_EVIDENCE, false, ext.raw)],
    });
    await rejectsCode(
      verifyCertificate(forged.toString('pem'), {
        at: new Date(),
        snp: { vcek: snp.vcekPem, chain: snp.chainPem, trustAnchors: [arkPem] },
      }),
      'ERR_BINDING_MISMATCH',
    );
  });

  test('spliced report: a report for other report data under this key’s claims fails the binding', async () => {
    const a = await generateKeyPair();
    const certA = await buildRaTlsCertificate({ keyPair: a, provider: new SimulatedSnpProvider(snp) });
    const ev = parseRatlsCertificate(certA.der).evidence[0];
    assert.ok(ev?.claims);
    const other = await new SimulatedSnpProvider(snp).getEvidence(new Uint8Array(64).fill(1));
    const value = encodeDiceTaggedEvidence(DICE_TAG_SEV_SNP, other.evidence, ev.claims);
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '06',
      name: 'CN=spliced',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      keys: a.cryptoKeys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.Extension(OID_DICE_TAGGED_EVIDENCE, false, value)],
    });
    await rejectsCode(
      verifyCertificate(forged.toString('pem'), {
        at: new Date(),
        snp: { vcek: snp.vcekPem, chain: snp.chainPem, trustAnchors: [arkPem] },
      }),
      'ERR_BINDING_MISMATCH',
    );
  });

  test('a flipped measurement byte breaks the VCEK signature', async () => {
    const ev = await new SimulatedSnpProvider(snp).getEvidence(new Uint8Array(64));
    const bad = new Uint8Array(ev.evidence);
    bad[0x90] = (bad[0x90] as number) ^ 1;
    const { verifySnpReport } = await import('@ratls/verifier');
    await rejectsCode(
      verifySnpReport(bad, { at: new Date(), vcek: snp.vcekPem, chain: snp.chainPem, trustAnchors: [arkPem] }),
      'ERR_SNP_REPORT_SIGNATURE',
    );
  });
});

describe('simulated Nitro certificates', () => {
  test('round trip: DICE tag 0x1a7570, user_data = SHA-256(claims) ‖ 0^32, simulated result', async () => {
    const keyPair = await generateKeyPair();
    const pcr0 = 'cd'.repeat(48);
    const provider = await SimulatedNitroProvider.create(nitro, { pcrs: { 0: pcr0 } });
    const cert = await buildRaTlsCertificate({ keyPair, provider, nonce: new Uint8Array([7, 7]) });
    const ev = parseRatlsCertificate(cert.der).evidence[0];
    assert.equal(ev?.diceTag, DICE_TAG_NITRO);
    const v = await verifyCertificate(cert.pem, {
      at: new Date(),
      nitroTrustAnchors: [nitroRoot],
      expectedNonce: new Uint8Array([7, 7]),
    });
    assert.equal(v.result.tee, 'nitro');
    assert.equal(v.result.simulated, true);
    assert.equal(v.result.debug, false);
    if (v.result.tee !== 'nitro') throw new Error('unreachable');
    assert.equal(v.result.measurements.pcrs['0'], pcr0);
    await rejectsCode(
      verifyCertificate(cert.pem, {
        at: new Date(),
        nitroTrustAnchors: [nitroRoot],
        expectedNonce: new Uint8Array([8]),
      }),
      'ERR_BINDING_NONCE_MISMATCH',
    );
    await rejectsCode(verifyCertificate(cert.pem, { at: new Date() }), 'ERR_NITRO_ROOT_UNTRUSTED');
  });

  test('debug enclave (PCR0 zero) is reported; another key fails the binding', async () => {
    const a = await generateKeyPair();
    const b = await generateKeyPair();
    const provider = await SimulatedNitroProvider.create(nitro, { debug: true });
    const cert = await buildRaTlsCertificate({ keyPair: a, provider });
    const v = await verifyCertificate(cert.pem, { at: new Date(), nitroTrustAnchors: [nitroRoot] });
    assert.equal(v.result.debug, true);
    const ext = parseRatlsCertificate(cert.der).evidence[0];
    assert.ok(ext);
    const forged = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '07',
      name: 'CN=forged',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 3_600_000),
      keys: b.cryptoKeys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new x509.Extension(OID_DICE_TAGGED_EVIDENCE, false, ext.raw)],
    });
    await rejectsCode(
      verifyCertificate(forged.toString('pem'), { at: new Date(), nitroTrustAnchors: [nitroRoot] }),
      'ERR_BINDING_MISMATCH',
    );
  });
});
