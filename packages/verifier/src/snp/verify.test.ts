import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  encodeSnpCertTable,
  parseSnpReport,
  parseVcekExtensions,
  RatlsError,
  SNP_CERT_GUIDS,
  snpReportFromText,
} from '@ratls/evidence';
import { simAmd, simReport, simVcek } from '@ratls/test-support/snp-testkit';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { isVerifiedResult } from '../result.js';
import { trustAnchorFrom } from '../trust.js';
import { verifySnpChain } from './chain.js';
import { checkSnpChipId, checkSnpTcbMatchesCert } from './checks.js';
import { AMD_ARK_SHA256, amdArkDer, amdIntermediateDer } from './roots.js';
import { amdArkAnchors, verifySnpReport } from './verify.js';
import { splitPem } from './x509util.js';

const GO = 'sev-snp/google-go-sev-guest/';
const VIRTEE = 'sev-snp/virtee-sev/';
const TRUSTEE = 'sev-snp/trustee/';
const MILAN = 'roots/amd/ask_ark_milan.pem';
const sec = (iso: string): number => Date.parse(iso) / 1000;
const GO_AT = sec('2022-09-24T01:00:00Z');
const LATER = sec('2024-06-01T00:00:00Z');
const VLEK_AT = sec('2025-06-01T00:00:00Z');

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.ok(e instanceof RatlsError, `not a RatlsError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}
function flipped(b: Uint8Array, i: number): Uint8Array {
  const c = new Uint8Array(b);
  c[i] = (c[i] as number) ^ 1;
  return c;
}

test('snp roots: built-in ARK/ASK/ASVK equal the vector chain files', { skip: SKIP_NO_VECTORS }, () => {
  for (const [p, vc, vl] of [
    ['Milan', 'ask_ark_milan.pem', 'ask_ark_milan_vlek.pem'],
    ['Genoa', 'ask_ark_genoa.pem', 'ask_ark_genoa_vlek.pem'],
    ['Turin', 'ask_ark_turin_vcek.pem', 'ask_ark_turin_vlek.pem'],
  ] as const) {
    const [ask, ark] = splitPem(readVectorText(`roots/amd/${vc}`), vc);
    const [asvk, ark2] = splitPem(readVectorText(`roots/amd/${vl}`), vl);
    assert.deepEqual(amdArkDer(p), ark);
    assert.deepEqual(amdArkDer(p), ark2);
    assert.deepEqual(amdIntermediateDer(p, 'vcek'), ask);
    assert.deepEqual(amdIntermediateDer(p, 'vlek'), asvk);
    assert.equal(createHash('sha256').update(amdArkDer(p)).digest('hex'), AMD_ARK_SHA256[p]);
  }
  assert.equal(amdArkAnchors().length, 3);
});

test('snp: go-sev-guest attestation.bin + vcek.testcer (Milan) verify', { skip: SKIP_NO_VECTORS }, async () => {
  const r = await verifySnpReport(readVector(`${GO}attestation.bin`), {
    at: GO_AT,
    vcek: readVector(`${GO}vcek.testcer`),
    chain: readVectorText(MILAN),
    product: 'Milan',
  });
  assert.ok(isVerifiedResult(r));
  assert.equal(r.tee, 'sev-snp');
  assert.equal(r.reportVersion, 2);
  assert.equal(r.simulated, false);
  assert.equal(r.debug, true); // policy 0xb0000 has bit 19 set
  assert.equal(
    r.measurements.measurement,
    'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01',
  );
  assert.deepEqual(r.measurements.reportedTcb, { bootloader: 2, tee: 0, snp: 5, microcode: 68 });
  assert.equal(r.measurements.policy, '00000000000b0000');
  assert.equal(r.measurements.vmpl, 0);
  assert.equal(r.measurements.signingKey, 'vcek');
  assert.equal(r.measurements.product, 'Milan');
  assert.ok(r.measurements.reportData.startsWith('0102030405'));
  assert.ok(r.measurements.chipId.startsWith('3ac3fe21'));
  assert.deepEqual(r.collateralWindow, {
    notBefore: sec('2022-09-24T00:55:28Z'),
    notAfter: sec('2029-09-24T00:55:28Z'),
  });
});

test('snp: virtee report_milan.hex + vcek_milan.der verify; byte 21 / VCEK byte 40 and 96 flips fail', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const hex = readVectorText(`${VIRTEE}report_milan.hex`);
  const vcek = readVector(`${VIRTEE}vcek_milan.der`);
  const r = await verifySnpReport(hex, { at: LATER, vcek, chain: readVectorText(MILAN) });
  assert.equal(r.debug, false);
  assert.deepEqual(r.measurements.reportedTcb, { bootloader: 3, tee: 0, snp: 8, microcode: 115 });
  assert.equal(
    r.measurements.measurement,
    '7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f',
  );
  const report = snpReportFromText(hex);
  assert.equal(await code(verifySnpReport(flipped(report, 21), { at: LATER, vcek })), 'ERR_SNP_REPORT_SIGNATURE');
  // Byte 40 lies in the TBS copy of the RSA-PSS parameters: the strict parser refuses it (outer and
  // TBS algorithms differ) before any signature; byte 96 (a character of the issuer name) reaches the signature.
  assert.equal(await code(verifySnpReport(report, { at: LATER, vcek: flipped(vcek, 40) })), 'ERR_SNP_VCEK_INVALID');
  assert.equal(await code(verifySnpReport(report, { at: LATER, vcek: flipped(vcek, 96) })), 'ERR_SNP_VCEK_SIGNATURE');
});

test('snp: trustee test-report.bin + test-vcek.der verify', { skip: SKIP_NO_VECTORS }, async () => {
  const r = await verifySnpReport(readVector(`${TRUSTEE}test-report.bin`), {
    at: LATER,
    vcek: readVector(`${TRUSTEE}test-vcek.der`),
  });
  assert.equal(r.measurements.policy, '000000000003001f');
  assert.equal(
    r.measurements.measurement,
    'a1f3930413247bb38cfc171579ea3c12d5fe4901f0c792f63fd75d98f1ef827c23500644e0e692e6be917f9050d3d38c',
  );
});

test('snp: VLEK report verifies with the VLEK chain inside its validity only', { skip: SKIP_NO_VECTORS }, async () => {
  const report = readVector(`${TRUSTEE}test-vlek-report.bin`);
  const vlek = readVector(`${TRUSTEE}test-vlek.der`);
  const chain = readVectorText('roots/amd/ask_ark_milan_vlek.pem');
  const r = await verifySnpReport(report, { at: VLEK_AT, vcek: vlek, chain });
  assert.equal(r.reportVersion, 3);
  assert.equal(r.measurements.signingKey, 'vlek');
  assert.deepEqual(r.measurements.reportedTcb, { bootloader: 4, tee: 0, snp: 24, microcode: 217 });
  assert.ok(r.measurements.measurement.startsWith('8922ebbd'));
  assert.deepEqual(r.collateralWindow, {
    notBefore: sec('2024-12-10T22:14:21Z'),
    notAfter: sec('2025-12-10T22:14:21Z'),
  });
  // Built-in ASVK works without a chain.
  await verifySnpReport(report, { at: VLEK_AT, vcek: vlek });
  assert.equal(
    await code(verifySnpReport(report, { at: sec('2025-12-10T22:14:22Z'), vcek: vlek, chain })),
    'ERR_SNP_CERT_EXPIRED',
  );
  assert.equal(
    await code(verifySnpReport(report, { at: sec('2024-12-10T22:14:20Z'), vcek: vlek, chain })),
    'ERR_SNP_CERT_EXPIRED',
  );
  // A VCEK chain (ASK) for a VLEK: wrong intermediate.
  assert.equal(
    await code(verifySnpReport(report, { at: VLEK_AT, vcek: vlek, chain: readVectorText(MILAN) })),
    'ERR_SNP_CHAIN_INVALID',
  );
  // VLEKs are not on KDS; without the certificate there is nothing to verify against.
  assert.equal(await code(verifySnpReport(report, { at: VLEK_AT })), 'ERR_SNP_COLLATERAL_MISSING');
});

test('snp: synthetic trustee VCEKs parse (both hwID encodings) but fail the signature check', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const report = readVector(`${TRUSTEE}test-report.bin`);
  for (const [f, enc] of [
    ['test-vcek-invalid-legacy.der', 'raw'],
    ['test-vcek-invalid-new.der', 'octet-string'],
  ] as const) {
    const der = readVector(TRUSTEE + f);
    assert.equal(parseVcekExtensions(der).hwIdEncoding, enc);
    assert.equal(await code(verifySnpReport(report, { at: LATER, vcek: der })), 'ERR_SNP_VCEK_SIGNATURE');
  }
});

test('snp: wrong product line chain fails', { skip: SKIP_NO_VECTORS }, async () => {
  const report = readVector(`${GO}attestation.bin`);
  const vcek = readVector(`${GO}vcek.testcer`);
  const genoa = readVectorText('roots/amd/ask_ark_genoa.pem');
  assert.equal(await code(verifySnpReport(report, { at: GO_AT, vcek, chain: genoa })), 'ERR_SNP_PRODUCT_MISMATCH');
  assert.equal(await code(verifySnpReport(report, { at: GO_AT, vcek, product: 'Genoa' })), 'ERR_SNP_PRODUCT_MISMATCH');
  assert.equal(
    await code(verifySnpReport(report, { at: GO_AT, vcek, chain: readVectorText(MILAN), product: 'Genoa' })),
    'ERR_SNP_PRODUCT_MISMATCH',
  );
});

test('snp: expired and not-yet-valid certificates fail', { skip: SKIP_NO_VECTORS }, async () => {
  const report = readVector(`${GO}attestation.bin`);
  const vcek = readVector(`${GO}vcek.testcer`);
  assert.equal(await code(verifySnpReport(report, { at: sec('2029-09-24T00:55:29Z'), vcek })), 'ERR_SNP_CERT_EXPIRED');
  assert.equal(await code(verifySnpReport(report, { at: sec('2022-09-24T00:55:27Z'), vcek })), 'ERR_SNP_CERT_EXPIRED');
  assert.equal(await code(verifySnpReport(report, { at: new Date('2046-01-01'), vcek })), 'ERR_SNP_CERT_EXPIRED');
});

test('snp: untrusted ARK and malformed chains fail', { skip: SKIP_NO_VECTORS }, async () => {
  const report = readVector(`${GO}attestation.bin`);
  const vcek = readVector(`${GO}vcek.testcer`);
  const turinArk = trustAnchorFrom(amdArkDer('Turin'));
  assert.equal(
    await code(verifySnpReport(report, { at: GO_AT, vcek, trustAnchors: [turinArk] })),
    'ERR_SNP_ARK_UNTRUSTED',
  );
  const [ask] = splitPem(readVectorText(MILAN), 'milan');
  const askPem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(ask as Uint8Array).toString('base64')}\n-----END CERTIFICATE-----\n`;
  assert.equal(await code(verifySnpReport(report, { at: GO_AT, vcek, chain: askPem })), 'ERR_SNP_CHAIN_INVALID');
  assert.equal(
    await code(verifySnpReport(report, { at: GO_AT, vcek: new Uint8Array([0x30, 0x00]) })),
    'ERR_SNP_VCEK_INVALID',
  );
  assert.equal(await code(verifySnpReport(report, { at: GO_AT })), 'ERR_SNP_COLLATERAL_MISSING');
  assert.equal(await code(verifySnpReport(report.subarray(1), { at: GO_AT, vcek })), 'ERR_SNP_REPORT_SIZE');
});

test('snp: Turin VCEK chains to ARK-Turin', { skip: SKIP_NO_VECTORS }, () => {
  const leaf = readVector(`${VIRTEE}vcek_turin.der`);
  const [intermediate, root] = splitPem(readVectorText('roots/amd/ask_ark_turin_vcek.pem'), 'turin');
  const r = verifySnpChain(
    { leaf, intermediate: intermediate as Uint8Array, root: root as Uint8Array },
    { at: sec('2025-01-01T00:00:00Z'), anchors: amdArkAnchors(), signingKey: 'vcek' },
  );
  assert.equal(r.product, 'Turin');
});

test('snp: TCB and chip-id comparison steps', { skip: SKIP_NO_VECTORS }, async () => {
  const report = parseSnpReport(readVector(`${GO}attestation.bin`), { product: 'Milan' });
  const ext = parseVcekExtensions(readVector(`${GO}vcek.testcer`));
  checkSnpTcbMatchesCert(report, ext, 'Milan');
  checkSnpChipId(report, ext, 'Milan');
  for (const k of ['blSpl', 'teeSpl', 'snpSpl', 'ucodeSpl'] as const) {
    assert.equal(
      await code(() => checkSnpTcbMatchesCert(report, { ...ext, [k]: ext[k] + 1 }, 'Milan')),
      'ERR_SNP_TCB_MISMATCH',
    );
  }
  assert.equal(
    await code(() => checkSnpTcbMatchesCert(report, { ...ext, productName: 'Genoa-B1' }, 'Milan')),
    'ERR_SNP_PRODUCT_MISMATCH',
  );
  const otherId = flipped(ext.hwId as Uint8Array, 63);
  assert.equal(await code(() => checkSnpChipId(report, { ...ext, hwId: otherId }, 'Milan')), 'ERR_SNP_HWID_MISMATCH');
  const { hwId: _drop, ...noHw } = ext;
  assert.equal(await code(() => checkSnpChipId(report, noHw, 'Milan')), 'ERR_SNP_HWID_MISMATCH');
});

test('snp: simulated hierarchy end to end (TCB, hwID, key kind, algorithm, anchors, auxblob)', async () => {
  const amd = await simAmd('Milan');
  const tcb = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
  const chipId = new Uint8Array(64).fill(0x42);
  const vcek = await simVcek(amd, { tcb, chipId });
  const anchors = [amd.arkDer];
  const at = sec('2025-01-01T00:00:00Z');
  const report = await simReport(vcek, { tcb, chipId });
  const r = await verifySnpReport(report, { at, vcek: vcek.der, chain: amd.chainPem, trustAnchors: anchors });
  assert.equal(r.simulated, true);
  assert.equal(r.reportVersion, 3);
  assert.equal(r.measurements.product, 'Milan');
  // Same chain by auxblob.
  const aux = encodeSnpCertTable([
    { guid: SNP_CERT_GUIDS.vcek, data: vcek.der },
    { guid: SNP_CERT_GUIDS.ask, data: amd.askDer },
    { guid: SNP_CERT_GUIDS.ark, data: amd.arkDer },
  ]);
  assert.equal((await verifySnpReport(report, { at, aux, trustAnchors: anchors })).simulated, true);
  // The real AMD ARKs do not trust the simulation.
  assert.equal(await code(verifySnpReport(report, { at, aux })), 'ERR_SNP_ARK_UNTRUSTED');
  // A report whose REPORTED_TCB differs from what the VCEK endorses (both genuinely signed).
  const newer = await simReport(vcek, { tcb: { ...tcb, snp: 9 }, chipId });
  assert.equal(await code(verifySnpReport(newer, { at, aux, trustAnchors: anchors })), 'ERR_SNP_TCB_MISMATCH');
  // A report from another chip.
  const other = await simReport(vcek, { tcb, chipId: new Uint8Array(64).fill(0x43) });
  assert.equal(await code(verifySnpReport(other, { at, aux, trustAnchors: anchors })), 'ERR_SNP_HWID_MISMATCH');
  // Claims VLEK signing but comes with a VCEK.
  const vlekClaim = await simReport(vcek, { tcb, chipId, kind: 'vlek' });
  assert.equal(
    await code(verifySnpReport(vlekClaim, { at, vcek: vcek.der, chain: amd.chainPem, trustAnchors: anchors })),
    'ERR_SNP_CHAIN_INVALID',
  );
  const algo = await simReport(vcek, { tcb, chipId, signatureAlgo: 2 });
  assert.equal(await code(verifySnpReport(algo, { at, aux, trustAnchors: anchors })), 'ERR_SNP_SIG_ALGO_UNSUPPORTED');
  // Debug policy is reported, not refused.
  const dbg = await simReport(vcek, { tcb, chipId, policy: 0x30000n | (1n << 19n) });
  assert.equal((await verifySnpReport(dbg, { at, aux, trustAnchors: anchors })).debug, true);
  // Signed by a different key than the VCEK.
  const stranger = await simVcek(amd, { tcb, chipId });
  const forged = await simReport(stranger, { tcb, chipId });
  assert.equal(await code(verifySnpReport(forged, { at, aux, trustAnchors: anchors })), 'ERR_SNP_REPORT_SIGNATURE');
  // Expired VCEK.
  const old = await simVcek(amd, { tcb, chipId, notAfter: new Date('2024-06-01T00:00:00Z') });
  const oldReport = await simReport(old, { tcb, chipId });
  assert.equal(
    await code(verifySnpReport(oldReport, { at, vcek: old.der, chain: amd.chainPem, trustAnchors: anchors })),
    'ERR_SNP_CERT_EXPIRED',
  );
});

test('snp: simulated Turin report uses the Turin TCB layout', async () => {
  const amd = await simAmd('Turin');
  const tcb = { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5 };
  const chipId = new Uint8Array(64);
  chipId.fill(0x17, 0, 8);
  const vcek = await simVcek(amd, { tcb, chipId });
  const report = await simReport(vcek, { tcb, chipId, product: 'Turin' });
  const r = await verifySnpReport(report, {
    at: sec('2025-01-01T00:00:00Z'),
    vcek: vcek.der,
    chain: amd.chainPem,
    trustAnchors: [amd.arkDer],
  });
  assert.deepEqual(r.measurements.reportedTcb, tcb);
  assert.equal(r.measurements.product, 'Turin');
});

test('snp: verified-chain cache reuses work and still checks time, anchors and product', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const { VerifiedChainCache } = await import('../cache/lru.js');
  const cache = new VerifiedChainCache(4);
  const report = readVector(`${GO}attestation.bin`);
  const vcek = readVector(`${GO}vcek.testcer`);
  const a = await verifySnpReport(report, { at: GO_AT, vcek, chainCache: cache });
  const b = await verifySnpReport(report, { at: GO_AT + 10, vcek, chainCache: cache });
  assert.deepEqual(a.measurements, b.measurements);
  assert.ok(cache.hits >= 2);
  assert.equal(
    await code(verifySnpReport(report, { at: sec('2030-01-01T00:00:00Z'), vcek, chainCache: cache })),
    'ERR_SNP_CERT_EXPIRED',
  );
  const turinArk = trustAnchorFrom(amdArkDer('Turin'));
  assert.equal(
    await code(verifySnpReport(report, { at: GO_AT, vcek, chainCache: cache, trustAnchors: [turinArk] })),
    'ERR_SNP_ARK_UNTRUSTED',
  );
  assert.equal(
    await code(verifySnpReport(report, { at: GO_AT, vcek, chainCache: cache, product: 'Genoa' })),
    'ERR_SNP_PRODUCT_MISMATCH',
  );
  // The report signature is always checked, cache or not.
  assert.equal(
    await code(verifySnpReport(flipped(report, 21), { at: GO_AT, vcek, chainCache: cache })),
    'ERR_SNP_REPORT_SIGNATURE',
  );
  assert.ok(cache.size <= 4);
});

test('snp: AMD CRL (simulated): current, ARK-signed, revocations of ASK and VCEK', async () => {
  const { simCrl } = await import('@ratls/test-support/snp-testkit');
  const amd = await simAmd('Milan');
  const tcb = { bootloader: 1, tee: 0, snp: 2, microcode: 3 };
  const chipId = new Uint8Array(64).fill(9);
  const vcek = await simVcek(amd, { tcb, chipId });
  const report = await simReport(vcek, { tcb, chipId });
  const base = { vcek: vcek.der, chain: amd.chainPem, trustAnchors: [amd.arkDer] };
  const at = sec('2025-01-01T00:00:00Z');
  const ok = await verifySnpReport(report, { ...base, at, crl: await simCrl(amd, { revoked: ['7777'] }) });
  assert.equal(ok.collateralWindow.notAfter, sec('2025-06-01T00:00:00Z'));
  assert.equal(
    await code(verifySnpReport(report, { ...base, at, crl: await simCrl(amd, { revoked: ['02'] }) })),
    'ERR_SNP_REVOKED',
  );
  const { X509Certificate } = await import('node:crypto');
  const vcekSerial = new X509Certificate(Buffer.from(vcek.der)).serialNumber;
  assert.equal(
    await code(verifySnpReport(report, { ...base, at, crl: await simCrl(amd, { revoked: [vcekSerial] }) })),
    'ERR_SNP_REVOKED',
  );
  assert.equal(
    await code(verifySnpReport(report, { ...base, at: sec('2025-07-01T00:00:00Z'), crl: await simCrl(amd, {}) })),
    'ERR_SNP_CRL_EXPIRED',
  );
  assert.equal(
    await code(verifySnpReport(report, { ...base, at, crl: await simCrl(amd, { signer: amd.askKeys }) })),
    'ERR_SNP_CRL_SIGNATURE',
  );
  assert.equal(
    await code(verifySnpReport(report, { ...base, at, crl: new Uint8Array([0x30, 0x01, 0x00]) })),
    'ERR_SNP_CRL_INVALID',
  );
});

test('snp: chains not signed with RSA-PSS, and an anchored ARK with a broken self-signature, fail', async () => {
  const amd = await simAmd('Milan');
  const tcb = { bootloader: 1, tee: 0, snp: 2, microcode: 3 };
  const chipId = new Uint8Array(64).fill(9);
  const vcek = await simVcek(amd, { tcb, chipId });
  const report = await simReport(vcek, { tcb, chipId });
  const at = sec('2025-01-01T00:00:00Z');
  // Corrupt the last byte of the ARK's own signature: configured as an anchor, but not self-consistent.
  const badArk = flipped(amd.arkDer, amd.arkDer.length - 1);
  const { x509 } = await import('@ratls/test-support/x509');
  const pem = (d: Uint8Array) => new x509.X509Certificate(d).toString('pem');
  const chain = `${pem(amd.askDer)}\n${pem(badArk)}\n`;
  assert.equal(
    await code(verifySnpReport(report, { at, vcek: vcek.der, chain, trustAnchors: [badArk] })),
    'ERR_SNP_ARK_SIGNATURE',
  );
});

test('snp: a look-alike AMD hierarchy signed with ECDSA instead of RSA-PSS fails', async () => {
  const amd = await simAmd('Milan', 'vcek', 'ecdsa');
  const tcb = { bootloader: 1, tee: 0, snp: 2, microcode: 3 };
  const chipId = new Uint8Array(64).fill(9);
  const vcek = await simVcek(amd, { tcb, chipId });
  const report = await simReport(vcek, { tcb, chipId });
  assert.equal(
    await code(
      verifySnpReport(report, {
        at: sec('2025-01-01T00:00:00Z'),
        vcek: vcek.der,
        chain: amd.chainPem,
        trustAnchors: [amd.arkDer],
      }),
    ),
    'ERR_SNP_ARK_SIGNATURE',
  );
});
