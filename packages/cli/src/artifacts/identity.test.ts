/**
 * `ratls policy identity --from`: identity blocks taken from a SIGSTRUCT built and signed here
 * (RSA-3072, e = 3, known fields), from nitro-cli JSON, and from the real quotes and certificate in
 * ../shared/vectors accept exactly the evidence they came from and refuse a one-byte change.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import { runCli } from '@ratls/test-support/run-cli';
import { dcapCases, readVector, readVectorText, SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';
import type { AttestationResult, NitroResult, SgxResult, SnpResult, TdxResult } from '@ratls/verifier';
import { evaluatePolicy, parsePolicy, verifyQuote } from '@ratls/verifier';
import { parseEifJson } from './eif.js';
import {
  type IdentityBlock,
  identityFromEif,
  identityFromResult,
  identityFromSigstruct,
  identityFromTool,
  renderIdentity,
} from './identity.js';
import { parseMeasurementJson } from './measurement-json.js';
import { parseSigstruct, SIGSTRUCT_BYTES } from './sigstruct.js';

const dir = mkdtempSync(join(tmpdir(), 'ratls-identity-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const KNOWN = {
  enclaveHash: Buffer.from('3c'.repeat(31) + '01', 'hex'),
  isvProdId: 0x1234,
  isvSvn: 7,
  // FLAGS = INIT | MODE64BIT (0x05), XFRM = 0x03; mask enforces FLAGS fully and XFRM bits 0-1 only.
  attributes: Buffer.from('0500000000000000' + '0300000000000000', 'hex'),
  attributeMask: Buffer.from('ffffffffffffffff' + '0300000000000000', 'hex'),
};

function buildSigstruct(): { bytes: Buffer; modulusLe: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 3072, publicExponent: 3 });
  const n = Buffer.from(publicKey.export({ format: 'jwk' }).n as string, 'base64url');
  assert.equal(n.length, 384);
  const modulusLe = Buffer.from(n).reverse();
  const b = Buffer.alloc(SIGSTRUCT_BYTES);
  Buffer.from('06000000e10000000000010000000000', 'hex').copy(b, 0);
  b.writeUInt32LE(0x20260301, 20);
  Buffer.from('01010000600000006000000001000000', 'hex').copy(b, 24);
  modulusLe.copy(b, 128);
  b.writeUInt32LE(3, 512);
  KNOWN.attributes.copy(b, 928);
  KNOWN.attributeMask.copy(b, 944);
  KNOWN.enclaveHash.copy(b, 960);
  b.writeUInt16LE(KNOWN.isvProdId, 1024);
  b.writeUInt16LE(KNOWN.isvSvn, 1026);
  const signed = Buffer.concat([b.subarray(0, 128), b.subarray(900, 1028)]);
  Buffer.from(sign('sha256', signed, privateKey))
    .reverse()
    .copy(b, 516);
  return { bytes: b, modulusLe };
}

function policyOf(block: IdentityBlock, defaults = '') {
  return parsePolicy(`version: 2\n${defaults}identities:\n${renderIdentity(block, 'test').replace(/^/gm, '  ')}\n`);
}

function sgxResult(m: Partial<SgxResult['measurements']>): SgxResult {
  return forgeVerifiedResult<SgxResult>({
    tee: 'sgx',
    simulated: false,
    evidenceSha256: 'ee'.repeat(32),
    debug: false,
    collateralWindow: { notBefore: 0, notAfter: 2e9 },
    quoteVersion: 3,
    tcbStatus: 'UpToDate',
    platformTcbStatus: 'UpToDate',
    qeTcbStatus: 'UpToDate',
    advisoryIds: [],
    fmspc: '00906ed50000',
    measurements: {
      mrEnclave: '00'.repeat(32),
      mrSigner: '00'.repeat(32),
      isvProdId: 0,
      isvSvn: 0,
      attributes: '00'.repeat(16),
      reportData: '00'.repeat(64),
      ...m,
    },
  });
}

const flip = (hex: string, at = 0) => hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1);

describe('SGX SIGSTRUCT', () => {
  const { bytes, modulusLe } = buildSigstruct();
  const file = join(dir, 'app.sig');
  writeFileSync(file, bytes);

  it('reads the known fields; MRSIGNER is SHA-256 of the little-endian modulus as stored', () => {
    const s = parseSigstruct(bytes);
    assert.equal(s.mrEnclave, KNOWN.enclaveHash.toString('hex'));
    assert.equal(s.mrSigner, createHash('sha256').update(modulusLe).digest('hex'));
    assert.notEqual(s.mrSigner, createHash('sha256').update(Buffer.from(modulusLe).reverse()).digest('hex'));
    assert.equal(s.isvProdId, KNOWN.isvProdId);
    assert.equal(s.isvSvn, KNOWN.isvSvn);
    assert.equal(s.date, '20260301');
  });

  it('the identity accepts the enclave it describes, XFRM outside the mask included, and nothing else', () => {
    const s = parseSigstruct(bytes);
    const p = policyOf(identityFromSigstruct('app', s));
    const base = {
      mrEnclave: s.mrEnclave,
      mrSigner: s.mrSigner,
      isvProdId: KNOWN.isvProdId,
      isvSvn: KNOWN.isvSvn,
      attributes: KNOWN.attributes.toString('hex'),
    };
    assert.equal(evaluatePolicy(p, sgxResult(base), { at: 1 }).accept, true);
    // AVX (XFRM bit 2) is not in ATTRIBUTEMASK: EINIT does not enforce it, neither does the identity.
    const avx = `${base.attributes.slice(0, 16)}07${base.attributes.slice(18)}`;
    assert.equal(evaluatePolicy(p, sgxResult({ ...base, attributes: avx }), { at: 1 }).accept, true);
    assert.equal(evaluatePolicy(p, sgxResult({ ...base, isvSvn: KNOWN.isvSvn + 1 }), { at: 1 }).accept, true);
    const mutations: Partial<SgxResult['measurements']>[] = [
      { mrEnclave: flip(base.mrEnclave) },
      { mrSigner: flip(base.mrSigner, 63) },
      { isvProdId: KNOWN.isvProdId + 1 },
      { isvSvn: KNOWN.isvSvn - 1 },
      { attributes: `07${base.attributes.slice(2)}` }, // DEBUG-adjacent FLAGS bit 1 set: enforced
    ];
    for (const m of mutations) {
      const d = evaluatePolicy(p, sgxResult({ ...base, ...m }), { at: 1 });
      assert.equal(d.accept, false, JSON.stringify(m));
      assert.equal(!d.accept && d.reasons[0]?.code, 'measurement_mismatch');
    }
  });

  it('a one-byte change to the signed file is ERR_SIGSTRUCT_SIGNATURE; a wrong size or header is malformed', () => {
    for (const at of [960, 1026, 930, 600]) {
      const bad = Buffer.from(bytes);
      bad[at] = (bad[at] as number) ^ 1;
      assert.throws(() => parseSigstruct(bad), { code: 'ERR_SIGSTRUCT_SIGNATURE' }, `byte ${at}`);
    }
    assert.throws(() => parseSigstruct(bytes.subarray(0, 1807)), { code: 'ERR_SIGSTRUCT_MALFORMED' });
    const hdr = Buffer.from(bytes);
    hdr[24] = 2;
    assert.throws(() => parseSigstruct(hdr), { code: 'ERR_SIGSTRUCT_MALFORMED' });
    const e5 = Buffer.from(bytes);
    e5.writeUInt32LE(65537, 512);
    assert.throws(() => parseSigstruct(e5), { code: 'ERR_SIGSTRUCT_MALFORMED' });
  });

  it('CLI: prints a block that `policy check` accepts; a tampered file exits 2 with the code', async () => {
    const r = await runCli(['policy', 'identity', '--from', file, '--name', 'signed-app']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^# from .*app\.sig \(SGX SIGSTRUCT\)/);
    const pf = join(dir, 'sig-policy.yaml');
    writeFileSync(pf, `version: 2\nidentities:\n${r.stdout.replace(/^/gm, '  ')}\n`);
    const chk = await runCli(['policy', 'check', pf]);
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    const bad = Buffer.from(bytes);
    bad[961] = (bad[961] as number) ^ 0x80;
    const badFile = join(dir, 'bad.sig');
    writeFileSync(badFile, bad);
    const refused = await runCli(['policy', 'identity', '--from', badFile]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /ERR_SIGSTRUCT_SIGNATURE/);
  });
});

describe('nitro-cli describe-eif JSON', () => {
  const pcr = (c: string) => c.repeat(96);
  const json = JSON.stringify({
    EifVersion: 4,
    Measurements: { HashAlgorithm: 'Sha384 { ... }', PCR0: pcr('a'), PCR1: pcr('b'), PCR2: pcr('c'), PCR8: pcr('d') },
    IsSigned: true,
  });
  const nitro = (pcrs: Record<string, string>) =>
    forgeVerifiedResult<NitroResult>({
      tee: 'nitro',
      simulated: false,
      evidenceSha256: 'ee'.repeat(32),
      debug: false,
      collateralWindow: { notBefore: 0, notAfter: 2e9 },
      measurements: { moduleId: 'i-0', digest: 'SHA384', pcrs, timestamp: 0 },
    });

  it('PCR0/1/2/8 pin exactly the enclave image; one changed PCR refuses', () => {
    const p = policyOf(identityFromEif('enclave', parseEifJson(json)));
    const good = { '0': pcr('a'), '1': pcr('b'), '2': pcr('c'), '3': pcr('0'), '8': pcr('d') };
    assert.equal(evaluatePolicy(p, nitro(good), { at: 1 }).accept, true);
    for (const k of ['0', '1', '2', '8'] as const) {
      const d = evaluatePolicy(p, nitro({ ...good, [k]: flip(good[k], 95) }), { at: 1 });
      assert.equal(!d.accept && d.reasons[0]?.code, 'measurement_mismatch', `PCR${k}`);
    }
  });

  it('refuses JSON without Measurements.PCR0 or with a short PCR', () => {
    assert.throws(() => parseEifJson('{"Measurements":{}}'), { code: 'ERR_ARTIFACT_JSON_MALFORMED' });
    assert.throws(() => parseEifJson('{"Measurements":{"PCR0":"abcd"}}'), { code: 'ERR_ARTIFACT_JSON_MALFORMED' });
    assert.throws(() => parseEifJson('[1'), { code: 'ERR_ARTIFACT_JSON_MALFORMED' });
  });
});

describe('TDX and SNP measurement tool JSON', () => {
  const hx = (c: string, n = 48) => c.repeat(n);
  const td = (m: Partial<TdxResult['measurements']>) =>
    forgeVerifiedResult<TdxResult>({
      tee: 'tdx',
      simulated: false,
      evidenceSha256: 'ee'.repeat(32),
      debug: false,
      collateralWindow: { notBefore: 0, notAfter: 2e9 },
      quoteVersion: 4,
      tcbStatus: 'UpToDate',
      platformTcbStatus: 'UpToDate',
      qeTcbStatus: 'UpToDate',
      tdxModuleTcbStatus: 'UpToDate',
      advisoryIds: [],
      fmspc: '00806f050000',
      measurements: {
        mrTd: hx('a1'),
        rtmr0: hx('b0'),
        rtmr1: hx('b1'),
        rtmr2: hx('b2'),
        rtmr3: hx('00'),
        mrSeam: hx('04'),
        tdAttributes: '0000001000000000',
        reportData: '00'.repeat(64),
        ...m,
      },
    });
  const vm = (m: Partial<SnpResult['measurements']>) =>
    forgeVerifiedResult<SnpResult>({
      tee: 'sev-snp',
      simulated: false,
      evidenceSha256: 'ee'.repeat(32),
      debug: false,
      collateralWindow: { notBefore: 0, notAfter: 2e9 },
      reportVersion: 2,
      measurements: {
        measurement: hx('5a'),
        hostData: '00'.repeat(32),
        idKeyDigest: hx('00'),
        authorKeyDigest: hx('00'),
        reportData: '00'.repeat(64),
        policy: '0000000000030000',
        vmpl: 0,
        reportedTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 },
        chipId: 'c1'.repeat(64),
        signingKey: 'vcek',
        ...m,
      },
    });

  it('TDX (dstack-mr / tdx-measure --json): MRTD and RTMR0-2 pin the TD; one changed register refuses', () => {
    const json = JSON.stringify({ mrtd: hx('a1'), rtmr0: hx('b0'), rtmr1: hx('b1'), rtmr2: `0x${hx('b2')}` });
    const p = policyOf(identityFromTool('td', parseMeasurementJson(json)));
    assert.equal(evaluatePolicy(p, td({}), { at: 1 }).accept, true);
    for (const k of ['mrTd', 'rtmr0', 'rtmr1', 'rtmr2'] as const) {
      const d = evaluatePolicy(p, td({ [k]: flip(td({}).measurements[k], 7) }), { at: 1 });
      assert.equal(!d.accept && d.reasons[0]?.code, 'measurement_mismatch', k);
    }
  });

  it('SNP launch digest pins the VM (VMPL 0 under version 2); a changed digest or VMPL refuses', () => {
    const p = policyOf(identityFromTool('vm', parseMeasurementJson(JSON.stringify({ measurement: hx('5a') }))));
    assert.equal(evaluatePolicy(p, vm({}), { at: 1 }).accept, true);
    assert.equal(evaluatePolicy(p, vm({ measurement: flip(hx('5a'), 3) }), { at: 1 }).accept, false);
    assert.equal(evaluatePolicy(p, vm({ vmpl: 1 }), { at: 1 }).accept, false);
  });

  it('refuses JSON that names neither, or a short register', () => {
    assert.throws(() => parseMeasurementJson('{"foo":1}'), { code: 'ERR_ARTIFACT_JSON_MALFORMED' });
    assert.throws(() => parseMeasurementJson(`{"mrtd":"${hx('a1', 47)}"}`), { code: 'ERR_ARTIFACT_JSON_MALFORMED' });
  });
});

describe('identities from the real vectors', { skip: SKIP_NO_VECTORS }, () => {
  const cases = dcapCases();
  const LENIENT =
    'defaults:\n  tcbStatus: [UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded]\n  debug: true\n';

  for (const name of [
    'sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06',
    'tdx__phala-dcap-qvl__tdx_quote.bin@dcapqvl_tdx_2025-06',
  ]) {
    it(`${name.split('@')[0]}: the block accepts its quote and refuses one changed measurement byte`, async () => {
      const c = cases.find((x) => x.name === name);
      assert.ok(c, name);
      const r = await verifyQuote(readVector(c.quote), readVectorText(c.collateral), { at: c.at });
      const block = identityFromResult('from-vector', r);
      const p = policyOf(block, LENIENT);
      const d = evaluatePolicy(p, r, { at: c.at });
      assert.ok(d.accept, JSON.stringify(d));
      // The same block with one hex digit of its first pinned measurement changed refuses the quote.
      const section = Object.values(block).find((v) => typeof v === 'object') as Record<string, unknown>;
      const [field, value] = Object.entries(section)[0] as [string, string[]];
      const changed = { ...block, [r.tee]: { ...section, [field]: [flip(value[0] as string, 10)] } } as IdentityBlock;
      const d2 = evaluatePolicy(policyOf(changed, LENIENT), r as AttestationResult, { at: c.at });
      assert.equal(!d2.accept && d2.reasons[0]?.code, 'measurement_mismatch');
    });
  }

  it('CLI: the Gramine RA-TLS certificate gives a block that `policy test` accepts, and refuses when changed', async () => {
    const collateral = vectorPath('dcap-cases/auto_sgx_2025-08.collateral.json');
    const cert = vectorPath('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem');
    const at = '1756530546';
    const r = await runCli(['policy', 'identity', '--from', cert, '--collateral', collateral, '--at', at]);
    assert.equal(r.code, 0, r.stderr);
    const write = (body: string) => {
      const f = join(dir, `cert-policy-${Math.random().toString(16).slice(2)}.yaml`);
      writeFileSync(f, `version: 2\n${LENIENT}  advisories: { deny: [] }\nidentities:\n${body.replace(/^/gm, '  ')}\n`);
      return f;
    };
    const ok = await runCli(['policy', 'test', write(r.stdout), cert, '--collateral', collateral, '--at', at]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    const m = /mrEnclave:\n\s+- "([0-9a-f]{64})"/.exec(r.stdout);
    assert.ok(m, r.stdout);
    const changed = r.stdout.replace(m[1] as string, flip(m[1] as string, 5));
    const no = await runCli(['policy', 'test', write(changed), cert, '--collateral', collateral, '--at', at]);
    assert.equal(no.code, 1, no.stdout);
    assert.match(no.stdout, /measurement_mismatch/);
  });
});
