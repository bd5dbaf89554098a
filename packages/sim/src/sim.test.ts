import assert from 'node:assert/strict';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { x509 } from '@ratls/attester/x509';
import { fromHex, parseQuote, RatlsError, toHex } from '@ratls/evidence';
import { OID_SGX_EXTENSION, SIM_TCB_LEVELS, SIMULATION_MARKER, TCB_STATUSES } from './constants.js';
import {
  initSimulation,
  loadSimulation,
  revokePckSerial,
  type SimCollateralJson,
  type SimState,
  SimulatedQuoteProvider,
  simulatedPckLeaf,
} from './index.js';

const AT = new Date('2026-03-01T12:00:00Z');
const DAYS = 30;
const REPORT_DATA = new Uint8Array(64).map((_, i) => i + 1);

/** Node KeyObject-style verify input for a raw x‖y P-256 key. */
function rawKey(raw: Uint8Array) {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  return {
    key: { kty: 'EC', crv: 'P-256', x: b64(raw.subarray(0, 32)), y: b64(raw.subarray(32)) },
    format: 'jwk' as const,
    dsaEncoding: 'ieee-p1363' as const,
  };
}

function certs(pem: string): X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map(
    (p) => new X509Certificate(p),
  );
}

/** Minimal DER walk for the SGX extension: flattens SEQUENCE { OID, value } pairs to oid → value TLV. */
function sgxExtensionEntries(der: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const tlvs = (b: Uint8Array): { tag: number; body: Uint8Array; all: Uint8Array }[] => {
    const res = [];
    let i = 0;
    while (i < b.length) {
      const tag = b[i] as number;
      let len = b[i + 1] as number;
      let h = 2;
      if (len & 0x80) {
        const n = len & 0x7f;
        len = 0;
        for (let k = 0; k < n; k++) len = len * 256 + (b[i + 2 + k] as number);
        h += n;
      }
      res.push({ tag, body: b.subarray(i + h, i + h + len), all: b.subarray(i, i + h + len) });
      i += h + len;
    }
    return res;
  };
  const oidText = (b: Uint8Array): string => {
    const arcs = [Math.floor((b[0] as number) / 40), (b[0] as number) % 40];
    let v = 0;
    for (const x of b.subarray(1)) {
      v = v * 128 + (x & 0x7f);
      if (!(x & 0x80)) {
        arcs.push(v);
        v = 0;
      }
    }
    return arcs.join('.');
  };
  const walk = (seqBody: Uint8Array): void => {
    for (const item of tlvs(seqBody)) {
      const [o, val] = tlvs(item.body);
      if (!o || !val || o.tag !== 0x06) continue;
      out.set(oidText(o.body), val.all);
      if (val.tag === 0x30) walk(val.body);
    }
  };
  walk(tlvs(der)[0]?.body ?? new Uint8Array());
  return out;
}

let dir: string;
let sim: SimState;
let sgx: SimCollateralJson;
let tdx: SimCollateralJson;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-sim-'));
  sim = await initSimulation(dir, { at: AT, collateralDays: DAYS });
  sgx = JSON.parse(await readFile(join(dir, 'collateral.json'), 'utf8'));
  tdx = JSON.parse(await readFile(join(dir, 'collateral-tdx.json'), 'utf8'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('initSimulation', () => {
  test('writes a self-signed simulated root carrying the marker, keys mode 0600', async () => {
    const root = new X509Certificate(await readFile(join(dir, 'root.pem')));
    assert.ok(root.subject.includes(`O=${SIMULATION_MARKER}`));
    assert.ok(root.subject.includes('CN=ratls Simulated SGX Root CA'));
    assert.ok(root.ca);
    assert.ok(root.verify(root.publicKey));
    for (const f of ['root.key.pem', 'pck-platform-ca.key.pem', 'tcb-signing.key.pem']) {
      assert.equal((await stat(join(dir, f))).mode & 0o777, 0o600, f);
    }
    const st = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
    assert.equal(st.at, AT.toISOString());
    assert.ok(!JSON.stringify(st).includes('PRIVATE KEY'));
  });

  test("the TCB signing certificate has the TCB Signing role's attributes (exact name, not a CA, digitalSignature)", () => {
    const chain = certs(sgx.tcb_info_issuer_chain);
    assert.equal(chain.length, 2, 'signer + root, as Intel ships it');
    const signer = chain[0] as X509Certificate;
    // Node prints RDNs one per line, in order; the verifier (dcap/roles.ts) matches them exactly.
    assert.equal(
      signer.subject,
      ['CN=ratls Simulated SGX TCB Signing', `O=${SIMULATION_MARKER}`, 'L=Santa Clara', 'ST=CA', 'C=US'].join('\n'),
    );
    assert.equal(signer.ca, false);
    const ku = new x509.X509Certificate(signer.raw).getExtension(x509.KeyUsagesExtension);
    assert.ok(ku && (ku.usages & x509.KeyUsageFlags.digitalSignature) !== 0);
    assert.equal(sgx.qe_identity_issuer_chain, sgx.tcb_info_issuer_chain);
  });

  test('issuer chains verify up to the root; every certificate carries the marker', () => {
    for (const c of [sgx, tdx]) {
      for (const chain of [c.pck_crl_issuer_chain, c.tcb_info_issuer_chain, c.qe_identity_issuer_chain]) {
        const [leaf, root] = certs(chain);
        assert.ok(leaf && root);
        assert.ok(leaf.verify(root.publicKey));
        assert.ok(leaf.subject.includes(SIMULATION_MARKER));
        assert.equal(leaf.issuer, root.subject);
      }
    }
    assert.match(certs(sgx.pck_crl_issuer_chain)[0]?.subject ?? '', /CN=.*PCK Platform CA/);
  });

  test('TCB info and QE identity signatures verify over the exact JSON bytes', () => {
    for (const c of [sgx, tdx]) {
      const key = certs(c.tcb_info_issuer_chain)[0]?.publicKey;
      assert.ok(key);
      const ok = (json: string, sig: string) =>
        verify('sha256', Buffer.from(json, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, fromHex(sig));
      assert.ok(ok(c.tcb_info, c.tcb_info_signature));
      assert.ok(ok(c.qe_identity, c.qe_identity_signature));
      // Negative: one changed byte in the signed text fails.
      assert.ok(!ok(c.tcb_info.replace('"version":3', '"version":4'), c.tcb_info_signature));
      assert.ok(!ok(`${c.qe_identity} `, c.qe_identity_signature));
    }
  });

  test('TCB info (SGX v3 and TDX v3) and QE identity content', () => {
    const s = JSON.parse(sgx.tcb_info);
    const t = JSON.parse(tdx.tcb_info);
    assert.equal(s.id, 'SGX');
    assert.equal(t.id, 'TDX');
    for (const x of [s, t]) {
      assert.equal(x.version, 3);
      assert.equal(x.pceId, '0000');
      assert.equal(x.issueDate, '2026-03-01T11:00:00Z');
      assert.equal(x.nextUpdate, '2026-03-31T12:00:00Z');
      assert.deepEqual(
        x.tcbLevels.map((l: { tcbStatus: string }) => l.tcbStatus),
        [...TCB_STATUSES],
      );
      assert.equal(x.tcbLevels[0].tcb.sgxtcbcomponents.length, 16);
    }
    assert.equal(s.fmspc, sim.fmspc.sgx.toUpperCase());
    assert.equal(t.fmspc, sim.fmspc.tdx.toUpperCase());
    assert.equal(t.tdxModuleIdentities[0].id, 'TDX_01');
    assert.equal(t.tcbLevels[0].tcb.tdxtcbcomponents.length, 16);
    assert.equal(s.tcbLevels[0].tcb.tdxtcbcomponents, undefined);
    assert.deepEqual(s.tcbLevels[1].advisoryIDs, ['INTEL-SA-00615']);
    assert.deepEqual(s.tcbLevels[4].advisoryIDs.includes('INTEL-SA-00615'), true);
    const q = JSON.parse(sgx.qe_identity);
    const tq = JSON.parse(tdx.qe_identity);
    assert.deepEqual([q.id, q.version, q.isvprodid], ['QE', 2, 1]);
    assert.deepEqual([tq.id, tq.version, tq.isvprodid], ['TD_QE', 2, 2]);
  });

  test("each level's own SVNs match exactly that level under Intel's first-match rule", () => {
    const le = (a: number[], b: number[]) => a.every((v, i) => v <= (b[i] as number));
    for (const [k, level] of SIM_TCB_LEVELS.entries()) {
      const first = SIM_TCB_LEVELS.findIndex(
        (l) =>
          le(l.sgxComponents, level.sgxComponents) &&
          l.pceSvn <= level.pceSvn &&
          le(l.tdxComponents.slice(2), level.tdxComponents.slice(2)),
      );
      assert.equal(first, k, level.status);
    }
  });

  test('CRLs: DER, signed by their issuer, empty, thisUpdate ≤ at, nextUpdate = at + days', async () => {
    const rootCrl = new x509.X509Crl(fromHex(sgx.root_ca_crl));
    const pckCrl = new x509.X509Crl(fromHex(sgx.pck_crl));
    const [platform, root] = certs(sgx.pck_crl_issuer_chain);
    assert.ok(platform && root);
    assert.ok(await rootCrl.verify({ publicKey: new x509.X509Certificate(root.raw).publicKey }));
    assert.ok(await pckCrl.verify({ publicKey: new x509.X509Certificate(platform.raw).publicKey }));
    assert.ok(!(await pckCrl.verify({ publicKey: new x509.X509Certificate(root.raw).publicKey })));
    for (const crl of [rootCrl, pckCrl]) {
      assert.equal(crl.entries.length, 0);
      assert.ok(crl.thisUpdate.getTime() <= AT.getTime());
      assert.equal(crl.nextUpdate?.getTime(), AT.getTime() + DAYS * 86_400_000);
    }
    assert.equal(pckCrl.issuer, new x509.X509Certificate(platform.raw).subject);
    assert.equal(rootCrl.issuer, new x509.X509Certificate(root.raw).subject);
  });

  test('refuses bad options with ERR_SIM_CONFIG', async () => {
    for (const collateralDays of [0, -1, 1.5, 100_000]) {
      await assert.rejects(initSimulation(join(dir, 'bad'), { at: AT, collateralDays }), { code: 'ERR_SIM_CONFIG' });
    }
    await assert.rejects(initSimulation(join(dir, 'bad'), { at: new Date('nope') }), { code: 'ERR_SIM_CONFIG' });
  });
});

describe('SimulatedQuoteProvider', () => {
  test('SGX v3: parses, measurements and debug as requested, QE report and quote signatures verify', async () => {
    const mrEnclave = 'ab'.repeat(32);
    const p = new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave, isvProdId: 3, isvSvn: 9, debug: true });
    const ev = await p.getEvidence(REPORT_DATA);
    assert.equal(ev.tee, 'sgx');
    const q = parseQuote(ev.evidence);
    assert.equal(q.header.version, 3);
    assert.equal(q.body.kind, 'sgx');
    if (q.body.kind !== 'sgx') return;
    assert.equal(toHex(q.body.report.mrEnclave), mrEnclave);
    assert.equal(q.body.report.isvProdId, 3);
    assert.equal(q.body.report.isvSvn, 9);
    assert.equal((q.body.report.attributes[0] as number) & 2, 2);
    assert.deepEqual(q.body.report.reportData, REPORT_DATA);
    const sd = q.signatureData;
    assert.ok(verify('sha256', q.signedBytes, rawKey(sd.attestationKey), sd.signature));
    const [leaf, platform, root] = certs(sd.pckChainPem ?? '');
    assert.ok(leaf && platform && root);
    assert.ok(leaf.verify(platform.publicKey) && platform.verify(root.publicKey));
    assert.equal(root.fingerprint256, new X509Certificate(sim.root.certPem).fingerprint256);
    assert.ok(
      verify('sha256', sd.qeReport.raw, { key: leaf.publicKey, dsaEncoding: 'ieee-p1363' }, sd.qeReportSignature),
    );
    const h = createHash('sha256').update(sd.attestationKey).update(sd.qeAuthData).digest();
    assert.deepEqual(sd.qeReport.reportData, new Uint8Array([...h, ...new Uint8Array(32)]));
    const qe = JSON.parse(sgx.qe_identity);
    assert.equal(toHex(sd.qeReport.mrSigner).toUpperCase(), qe.mrsigner);
    assert.equal(sd.qeReport.isvProdId, qe.isvprodid);
    assert.equal(sd.qeReport.isvSvn, qe.tcbLevels[0].tcb.isvsvn);
    // Negative: a flipped body byte breaks the quote signature.
    const bad = q.signedBytes.slice();
    bad[100] = (bad[100] as number) ^ 1;
    assert.ok(!verify('sha256', bad, rawKey(sd.attestationKey), sd.signature));
  });

  test('the PCK leaf carries the SGX extension with FMSPC, PCE-ID and the level SVNs', async () => {
    for (const tee of ['sgx', 'tdx'] as const) {
      const status = 'SWHardeningNeeded';
      const leaf = await simulatedPckLeaf(sim, tee, status);
      const cert = new x509.X509Certificate(leaf.certPem);
      const ext = cert.getExtension(OID_SGX_EXTENSION);
      assert.ok(ext);
      const e = sgxExtensionEntries(new Uint8Array(ext.value));
      const P = OID_SGX_EXTENSION;
      assert.equal(toHex(e.get(`${P}.4`) ?? new Uint8Array()), `0406${sim.fmspc[tee]}`);
      assert.equal(toHex(e.get(`${P}.3`) ?? new Uint8Array()), '04020000');
      assert.equal(toHex(e.get(`${P}.1`) ?? new Uint8Array()), `0410${toHex(sim.ppid)}`);
      const level = SIM_TCB_LEVELS[1];
      assert.ok(level);
      for (let i = 1; i <= 16; i++) {
        assert.equal(
          toHex(e.get(`${P}.2.${i}`) ?? new Uint8Array()),
          `0201${level.sgxComponents[i - 1]?.toString(16).padStart(2, '0')}`,
        );
      }
      assert.equal(toHex(e.get(`${P}.2.17`) ?? new Uint8Array()), `0201${level.pceSvn.toString(16).padStart(2, '0')}`);
      assert.equal(e.get(`${P}.2.18`)?.length, 18);
      assert.equal(toHex(e.get(`${P}.5`) ?? new Uint8Array()), tee === 'sgx' ? '0a0100' : '0a0101');
      // Reused for the same level.
      assert.equal((await simulatedPckLeaf(sim, tee, status)).serial, leaf.serial);
    }
  });

  test('TDX v4 (TD 1.0) and v5 (TD 1.5): measurements, TEE_TCB_SVN for the level, debug bit', async () => {
    const mrTd = 'cd'.repeat(48);
    const rtmr = ['01'.repeat(48), undefined, '03'.repeat(48)];
    for (const quoteVersion of [4, 5] as const) {
      const p = new SimulatedQuoteProvider(sim, { tee: 'tdx', mrTd, rtmr, quoteVersion, tcb: 'OutOfDate' });
      const q = parseQuote((await p.getEvidence(REPORT_DATA)).evidence);
      assert.equal(q.header.version, quoteVersion);
      assert.equal(q.tee, 'tdx');
      assert.equal(q.body.kind, quoteVersion === 4 ? 'td10' : 'td15');
      const r = q.body.report;
      assert.equal(toHex(r.mrTd), mrTd);
      assert.equal(toHex(r.rtmr[0]), rtmr[0]);
      assert.equal(toHex(r.rtmr[1]), '00'.repeat(48));
      assert.equal(toHex(r.rtmr[2]), rtmr[2]);
      assert.deepEqual(r.reportData, REPORT_DATA);
      assert.equal((r.tdAttributes[0] as number) & 1, 0);
      const level = SIM_TCB_LEVELS[4];
      assert.equal(r.teeTcbSvn[1], 1);
      assert.equal(r.teeTcbSvn[2], level?.tdxComponents[2]);
      assert.equal(q.signatureData.certification.type, 5);
      assert.equal(q.signatureData.qeReport.isvProdId, 2);
      assert.ok(verify('sha256', q.signedBytes, rawKey(q.signatureData.attestationKey), q.signatureData.signature));
    }
    const dbg = new SimulatedQuoteProvider(sim, { tee: 'tdx', debug: true });
    const q = parseQuote((await dbg.getEvidence(REPORT_DATA)).evidence);
    assert.ok(q.body.kind === 'td10' && ((q.body.report.tdAttributes[0] as number) & 1) === 1);
  });

  test('refuses bad options (ERR_SIM_CONFIG) and bad report data (ERR_SIM_REPORT_DATA)', async () => {
    const bad: ConstructorParameters<typeof SimulatedQuoteProvider>[1][] = [
      { tee: 'sgx', tcb: 'Fine' },
      { tee: 'sgx', mrEnclave: 'ab' },
      { tee: 'sgx', mrSigner: 'zz'.repeat(32) },
      { tee: 'sgx', isvSvn: 70000 },
      { tee: 'sgx', mrTd: '00'.repeat(48) },
      { tee: 'sgx', quoteVersion: 4 },
      { tee: 'tdx', mrEnclave: '00'.repeat(32) },
      { tee: 'tdx', quoteVersion: 3 as 4 },
      { tee: 'tdx', rtmr: ['00'.repeat(47)] },
      { tee: 'tdx', rtmr: ['', '', '', '', ''] },
      { tee: 'nitro' as 'sgx' },
    ];
    for (const o of bad) {
      assert.throws(() => new SimulatedQuoteProvider(sim, o), { code: 'ERR_SIM_CONFIG' }, JSON.stringify(o));
    }
    const p = new SimulatedQuoteProvider(sim, { tee: 'sgx' });
    await assert.rejects(p.getEvidence(new Uint8Array(32)), { code: 'ERR_SIM_REPORT_DATA' });
  });
});

describe('loadSimulation and revokePckSerial', () => {
  test('a loaded state issues quotes to the same root and reuses PCK leaves', async () => {
    const leaf = await simulatedPckLeaf(sim, 'sgx', 'UpToDate');
    const loaded = await loadSimulation(dir);
    assert.equal(loaded.at.getTime(), AT.getTime());
    assert.deepEqual(loaded.ppid, sim.ppid);
    assert.equal((await simulatedPckLeaf(loaded, 'sgx', 'UpToDate')).serial, leaf.serial);
    const q = parseQuote((await new SimulatedQuoteProvider(loaded, { tee: 'sgx' }).getEvidence(REPORT_DATA)).evidence);
    const chain = certs(q.signatureData.pckChainPem ?? '');
    assert.equal(chain[2]?.fingerprint256, new X509Certificate(sim.root.certPem).fingerprint256);
  });

  test('revokePckSerial puts the serial on the PCK CRL of both collateral files', async () => {
    const d2 = await mkdtemp(join(tmpdir(), 'ratls-sim-rev-'));
    try {
      const s2 = await initSimulation(d2, { at: AT });
      const leaf = await simulatedPckLeaf(s2, 'tdx', 'UpToDate');
      await revokePckSerial(s2, leaf.serial);
      for (const f of ['collateral.json', 'collateral-tdx.json']) {
        const c: SimCollateralJson = JSON.parse(await readFile(join(d2, f), 'utf8'));
        const crl = new x509.X509Crl(fromHex(c.pck_crl));
        assert.deepEqual(
          crl.entries.map((e) => e.serialNumber.toLowerCase()),
          [leaf.serial],
        );
        assert.ok(await crl.verify({ publicKey: s2.platformCa.key.publicKey }));
      }
      const reloaded = await loadSimulation(d2);
      assert.deepEqual(reloaded.revokedPckSerials, [leaf.serial]);
      assert.equal(reloaded.crlNumber, 2);
      await assert.rejects(revokePckSerial(s2, 'not-hex'), { code: 'ERR_SIM_CONFIG' });
    } finally {
      await rm(d2, { recursive: true, force: true });
    }
  });

  test('initSimulation over an existing folder starts fresh; a leaf from another CA is never reused', async () => {
    const d4 = await mkdtemp(join(tmpdir(), 'ratls-sim-reinit-'));
    try {
      const s1 = await initSimulation(d4, { at: AT });
      const leaf1 = await simulatedPckLeaf(s1, 'sgx', 'UpToDate');
      const s2 = await initSimulation(d4, { at: AT });
      const leaf2 = await simulatedPckLeaf(s2, 'sgx', 'UpToDate');
      assert.notEqual(leaf2.serial, leaf1.serial);
      const ca2 = new X509Certificate(s2.platformCa.certPem);
      assert.ok(new X509Certificate(leaf2.certPem).verify(ca2.publicKey));
      // A stale leaf (issued by the first CA) planted in the folder is replaced, not reused.
      await writeFile(join(d4, 'pck-sgx-UpToDate.pem'), leaf1.certPem);
      await writeFile(join(d4, 'pck-sgx-UpToDate.key.pem'), leaf1.key.pem);
      const leaf3 = await simulatedPckLeaf(await loadSimulation(d4), 'sgx', 'UpToDate');
      assert.notEqual(leaf3.serial, leaf1.serial);
      assert.ok(new X509Certificate(leaf3.certPem).verify(ca2.publicKey));
    } finally {
      await rm(d4, { recursive: true, force: true });
    }
  });

  test('loadSimulation refuses a missing or corrupt folder with ERR_SIM_STATE', async () => {
    const d3 = await mkdtemp(join(tmpdir(), 'ratls-sim-bad-'));
    try {
      await assert.rejects(loadSimulation(d3), (e: unknown) => e instanceof RatlsError && e.code === 'ERR_SIM_STATE');
      await writeFile(join(d3, 'state.json'), '{');
      await assert.rejects(loadSimulation(d3), { code: 'ERR_SIM_STATE' });
      const good = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8'));
      await writeFile(join(d3, 'state.json'), JSON.stringify({ ...good, ppid: 'abcd' }));
      await assert.rejects(loadSimulation(d3), { code: 'ERR_SIM_STATE' });
      await writeFile(join(d3, 'state.json'), JSON.stringify(good));
      await assert.rejects(loadSimulation(d3), { code: 'ERR_SIM_STATE' }); // no certificate/key files
    } finally {
      await rm(d3, { recursive: true, force: true });
    }
  });
});
