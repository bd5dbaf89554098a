import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import fc from 'fast-check';
import { toHex } from '../bytes.js';
import { RatlsError } from '../errors.js';
import { encodeSnpCertTable, parseSnpCertTable, SNP_CERT_GUIDS } from './cert-table.js';
import { parseSnpReport, snpReportFromText } from './parse.js';
import { snpProductFromCpuid, snpProductFromName } from './product.js';
import { decodeSnpTcb, encodeSnpTcb } from './tcb.js';
import { parseVcekExtensions } from './vcek-extensions.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RatlsError, `not a RatlsError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

test('snp: go-sev-guest attestation.bin fields', { skip: SNP_SKIP() }, () => {
  const r = parseSnpReport(readVector('sev-snp/google-go-sev-guest/attestation.bin'));
  assert.equal(r.version, 2);
  assert.equal(r.vmpl, 0);
  assert.equal(r.policy.raw, 0xb0000n);
  assert.equal(r.policy.debug, true); // bit 19 set in 0xb0000
  assert.equal(r.policy.smt, true);
  assert.equal(r.signatureAlgo, 1);
  assert.equal(r.signingKey, 'vcek');
  assert.equal(toHex(r.reportData.subarray(0, 6)), '010203040500');
  assert.equal(
    toHex(r.measurement),
    'b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01',
  );
  for (const t of [r.reportedTcb, r.currentTcb, r.committedTcb, r.launchTcb]) {
    assert.deepEqual([t.bootloader, t.tee, t.snp, t.microcode], [2, 0, 5, 68]);
  }
  assert.equal(toHex(r.chipId).slice(0, 8), '3ac3fe21');
  assert.equal(r.signature.r.length, 48);
  assert.equal(r.signedBytes.length, 0x2a0);
});

function SNP_SKIP(): string | false {
  return SKIP_NO_VECTORS;
}

test('snp: virtee hex report and trustee reports', { skip: SNP_SKIP() }, () => {
  const v = parseSnpReport(snpReportFromText(readVectorText('sev-snp/virtee-sev/report_milan.hex')));
  assert.equal(v.policy.raw, 0x30000n);
  assert.equal(v.policy.debug, false);
  assert.deepEqual([v.reportedTcb.bootloader, v.reportedTcb.snp, v.reportedTcb.microcode], [3, 8, 115]);
  const t = parseSnpReport(readVector('sev-snp/trustee/test-report.bin'));
  assert.equal(t.policy.raw, 0x3001fn);
  const vl = parseSnpReport(readVector('sev-snp/trustee/test-vlek-report.bin'));
  assert.equal(vl.version, 3);
  assert.equal(vl.signingKey, 'vlek');
  assert.equal(vl.product, 'Milan');
  assert.deepEqual([vl.reportedTcb.bootloader, vl.reportedTcb.snp, vl.reportedTcb.microcode], [4, 24, 217]);
  assert.ok(vl.chipId.every((x) => x === 0));
  assert.equal(
    code(() => parseSnpReport(vl.raw, { product: 'Turin' })),
    'ERR_SNP_PRODUCT_MISMATCH',
  );
});

test('snp: size, version and signing-key checks', { skip: SNP_SKIP() }, () => {
  const good = readVector('sev-snp/google-go-sev-guest/attestation.bin');
  assert.equal(
    code(() => parseSnpReport(good.subarray(0, 1183))),
    'ERR_SNP_REPORT_SIZE',
  );
  assert.equal(
    code(() => parseSnpReport(new Uint8Array(1185))),
    'ERR_SNP_REPORT_SIZE',
  );
  const v1 = new Uint8Array(good);
  v1[0] = 1;
  assert.equal(
    code(() => parseSnpReport(v1)),
    'ERR_SNP_REPORT_VERSION',
  );
  const key = new Uint8Array(good);
  key[0x48] = 2 << 2;
  assert.equal(
    code(() => parseSnpReport(key)),
    'ERR_SNP_REPORT_INVALID',
  );
  const big = new Uint8Array(good);
  big[0x2a0 + 60] = 1;
  assert.equal(
    code(() => parseSnpReport(big)),
    'ERR_SNP_REPORT_INVALID',
  );
  assert.equal(
    code(() => snpReportFromText('zz')),
    'ERR_HEX_INVALID',
  );
});

test('snp: arbitrary bytes only raise typed errors', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1184, maxLength: 1184 }), (b) => {
      try {
        parseSnpReport(b);
      } catch (e) {
        assert.ok(e instanceof RatlsError);
      }
    }),
    { numRuns: 200 },
  );
});

test('snp: TCB layouts (Milan/Genoa vs Turin) round-trip', () => {
  const m = encodeSnpTcb({ bootloader: 3, tee: 1, snp: 8, microcode: 115 }, 'Milan');
  assert.equal(toHex(m), '0301000000000873');
  assert.deepEqual(decodeSnpTcb(m, 'Genoa').snp, 8);
  const t = encodeSnpTcb({ fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5 }, 'Turin');
  assert.equal(toHex(t), '0102030400000005');
  const d = decodeSnpTcb(t, 'Turin');
  assert.deepEqual([d.fmc, d.bootloader, d.tee, d.snp, d.microcode], [1, 2, 3, 4, 5]);
  assert.equal(
    code(() => decodeSnpTcb(new Uint8Array(7))),
    'ERR_SNP_TCB_INVALID',
  );
  assert.equal(
    code(() => encodeSnpTcb({ bootloader: 256, tee: 0, snp: 0, microcode: 0 })),
    'ERR_SNP_TCB_INVALID',
  );
});

test('snp: product names', () => {
  assert.equal(snpProductFromCpuid(0x19, 0x01), 'Milan');
  assert.equal(snpProductFromCpuid(0x19, 0x11), 'Genoa');
  assert.equal(snpProductFromCpuid(0x1a, 0x02), 'Turin');
  assert.equal(snpProductFromCpuid(0x17, 0x01), undefined);
  assert.equal(snpProductFromName('Milan-B0'), 'Milan');
  assert.equal(snpProductFromName('ARK-Genoa'), 'Genoa');
  assert.equal(snpProductFromName('SEV-VLEK-Turin'), 'Turin');
  assert.equal(snpProductFromName('Milanese'), undefined);
});

test('snp: VCEK extensions, both hwID encodings, VLEK csp id, Turin fmc', { skip: SNP_SKIP() }, () => {
  const g = parseVcekExtensions(readVector('sev-snp/google-go-sev-guest/vcek.testcer'));
  assert.deepEqual([g.blSpl, g.teeSpl, g.snpSpl, g.ucodeSpl], [2, 0, 5, 68]);
  assert.equal(g.productName, 'Milan-B0');
  assert.equal(g.hwIdEncoding, 'raw');
  const report = parseSnpReport(readVector('sev-snp/google-go-sev-guest/attestation.bin'));
  assert.equal(toHex(g.hwId as Uint8Array), toHex(report.chipId));
  const legacy = parseVcekExtensions(readVector('sev-snp/trustee/test-vcek-invalid-legacy.der'));
  assert.equal(legacy.hwIdEncoding, 'raw');
  assert.equal(legacy.hwId?.length, 64);
  const neu = parseVcekExtensions(readVector('sev-snp/trustee/test-vcek-invalid-new.der'));
  assert.equal(neu.hwIdEncoding, 'octet-string');
  assert.equal(neu.hwId?.length, 64);
  assert.equal(toHex(neu.hwId as Uint8Array).slice(0, 8), '00010203');
  const vlek = parseVcekExtensions(readVector('sev-snp/trustee/test-vlek.der'));
  assert.equal(vlek.hwId, undefined);
  assert.equal(vlek.ucodeSpl, 217);
  assert.match(vlek.cspId ?? '', /amazonaws/);
  const turin = parseVcekExtensions(readVector('sev-snp/virtee-sev/vcek_turin.der'));
  assert.equal(turin.fmcSpl, 0);
  assert.equal(turin.hwId?.length, 8);
  assert.equal(turin.productName, 'Turin');
  assert.equal(
    code(() => parseVcekExtensions(new Uint8Array([0x30, 0x03, 1, 2, 3]))),
    'ERR_SNP_VCEK_INVALID',
  );
  assert.equal(
    code(() => parseVcekExtensions(new Uint8Array(5000))),
    'ERR_SNP_VCEK_INVALID',
  );
});

test('snp: certificate table round-trip and bounds', () => {
  const vcek = new Uint8Array([1, 2, 3]);
  const ask = new Uint8Array([4, 5]);
  const aux = encodeSnpCertTable([
    { guid: SNP_CERT_GUIDS.vcek, data: vcek },
    { guid: SNP_CERT_GUIDS.ask, data: ask },
    { guid: '00112233-4455-6677-8899-aabbccddeeff', data: new Uint8Array([9]) },
  ]);
  const t = parseSnpCertTable(aux);
  assert.deepEqual(t.vcek, vcek);
  assert.deepEqual(t.ask, ask);
  assert.equal(t.entries.length, 3);
  assert.equal(t.entries[2]?.kind, undefined);
  // UEFI mixed-endian GUID bytes are recognised too.
  const le = new Uint8Array(aux);
  le.set([0x8d, 0x75, 0xda, 0x63, 0x64, 0xe6, 0x64, 0x45], 0);
  assert.deepEqual(parseSnpCertTable(le).vcek, vcek);
  const oob = new Uint8Array(aux);
  new DataView(oob.buffer).setUint32(20, 1 << 20, true);
  assert.equal(
    code(() => parseSnpCertTable(oob)),
    'ERR_SNP_CERT_TABLE_INVALID',
  );
  assert.equal(
    code(() => parseSnpCertTable(aux.subarray(0, 30))),
    'ERR_SNP_CERT_TABLE_INVALID',
  );
  assert.equal(
    code(() => parseSnpCertTable(new Uint8Array(3))),
    'ERR_SNP_CERT_TABLE_INVALID',
  );
  const dup = encodeSnpCertTable([
    { guid: SNP_CERT_GUIDS.vcek, data: vcek },
    { guid: SNP_CERT_GUIDS.vcek, data: vcek },
  ]);
  assert.equal(
    code(() => parseSnpCertTable(dup)),
    'ERR_SNP_CERT_TABLE_INVALID',
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      try {
        parseSnpCertTable(b);
      } catch (e) {
        assert.ok(e instanceof RatlsError);
      }
    }),
  );
});
