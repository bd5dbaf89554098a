import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign, verify } from 'node:crypto';
import { describe, test } from 'node:test';
import { concatBytes } from '../bytes.js';
import { EvidenceParseError } from '../errors.js';
import { type EncodeQuoteInput, encodeQuote } from './encode.js';
import { parseQuote } from './parse.js';
import { encodeSgxReportBody, isSgxDebug, parseSgxReportBody } from './sgx-report-body.js';
import { encodeTdReportBody, isTdDebug } from './td-report-body.js';

const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
const PEM = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = concatBytes(Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url'));
  return { privateKey, publicKey, raw };
}

function input(over: Partial<EncodeQuoteInput>): EncodeQuoteInput {
  const ak = keyPair();
  const auth = fill(32, 9);
  const qeReportData = concatBytes(createHash('sha256').update(ak.raw).update(auth).digest(), new Uint8Array(32));
  return {
    version: 3,
    tee: 'sgx',
    body: encodeSgxReportBody({}),
    attestationKey: ak.raw,
    qeReport: encodeSgxReportBody({ isvSvn: 8, mrSigner: fill(32, 0x8c), reportData: qeReportData }),
    qeReportSignature: fill(64, 1),
    qeAuthData: auth,
    pckChainPem: PEM,
    sign: (m) => new Uint8Array(sign('sha256', m, { key: ak.privateKey, dsaEncoding: 'ieee-p1363' })),
    ...over,
  };
}

function sigOk(q: ReturnType<typeof parseQuote>): boolean {
  const [x, y] = [q.signatureData.attestationKey.subarray(0, 32), q.signatureData.attestationKey.subarray(32)];
  const key = {
    key: { kty: 'EC', crv: 'P-256', x: Buffer.from(x).toString('base64url'), y: Buffer.from(y).toString('base64url') },
    format: 'jwk' as const,
  };
  return verify('sha256', q.signedBytes, { ...key, dsaEncoding: 'ieee-p1363' }, q.signatureData.signature);
}

describe('encode → parse round trip', () => {
  test('SGX v3 with every report field set', () => {
    const fields = {
      cpuSvn: fill(16, 1),
      miscSelect: 0x12345678,
      isvExtProdId: fill(16, 2),
      attributes: concatBytes(new Uint8Array([0x07]), new Uint8Array(15)),
      mrEnclave: fill(32, 3),
      mrSigner: fill(32, 4),
      configId: fill(64, 5),
      isvProdId: 0xabcd,
      isvSvn: 7,
      configSvn: 0x0102,
      isvFamilyId: fill(16, 6),
      reportData: fill(64, 0xee),
    };
    const body = encodeSgxReportBody(fields);
    assert.deepEqual(parseSgxReportBody(body), { ...fields, raw: body });
    const bytes = encodeQuote(input({ body, header: { qeSvn: 8, pceSvn: 13, userData: fill(20, 0x55) } }));
    const q = parseQuote(bytes);
    assert.equal(q.header.version, 3);
    assert.equal(q.header.qeSvn, 8);
    assert.equal(q.header.pceSvn, 13);
    assert.deepEqual(q.header.userData, fill(20, 0x55));
    assert.equal(q.body.kind, 'sgx');
    if (q.body.kind === 'sgx') {
      assert.deepEqual(q.body.report.mrEnclave, fields.mrEnclave);
      assert.ok(isSgxDebug(q.body.report));
    }
    assert.equal(q.trailingBytes, 0);
    assert.equal(q.length, bytes.length);
    assert.equal(q.signatureData.pckChainPem, PEM);
    assert.equal(q.signatureData.qeReport.isvSvn, 8);
    assert.deepEqual(q.signatureData.qeAuthData, fill(32, 9));
    assert.ok(sigOk(q));
  });

  test('TDX v4 (TD 1.0) and v5 (TD 1.0 and TD 1.5) wrap type 5 in type 6', () => {
    const td = {
      teeTcbSvn: fill(16, 3),
      mrSeam: fill(48, 1),
      tdAttributes: new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]),
      xfam: fill(8, 0xe7),
      mrTd: fill(48, 0x91),
      rtmr: [fill(48, 10), fill(48, 11), fill(48, 12), fill(48, 13)],
      reportData: fill(64, 0x42),
    };
    for (const [version, kind] of [
      [4, 'td10'],
      [5, 'td10'],
      [5, 'td15'],
    ] as const) {
      const body = encodeTdReportBody({ ...td, kind, ...(kind === 'td15' ? { mrServiceTd: fill(48, 0x5e) } : {}) });
      const bytes = encodeQuote(input({ version, tee: 'tdx', body }));
      const q = parseQuote(concatBytes(bytes, new Uint8Array(70)));
      assert.equal(q.header.version, version);
      assert.equal(q.tee, 'tdx');
      assert.equal(q.body.kind, kind);
      assert.equal(q.trailingBytes, 70);
      assert.equal(q.signedBytes.length, (version === 5 ? 54 : 48) + body.length);
      if (q.body.kind === 'td10' || q.body.kind === 'td15') {
        assert.deepEqual(q.body.report.mrTd, td.mrTd);
        assert.deepEqual(q.body.report.rtmr[3], td.rtmr[3]);
        assert.ok(isTdDebug(q.body.report));
        if (kind === 'td15') assert.deepEqual(q.body.report.mrServiceTd, fill(48, 0x5e));
      }
      assert.equal(q.signatureData.certification.type, 5);
      // The outer certification data type at the start of the v4/v5 signature data is 6.
      const sigAt = q.signedBytes.length + 4 + 128;
      assert.equal(bytes[sigAt], 6);
      assert.ok(sigOk(q));
    }
  });

  test('SGX bodies in v4 and v5 quotes (v5 body type 1)', () => {
    for (const version of [4, 5] as const) {
      const body = encodeSgxReportBody({ mrEnclave: fill(32, 0x33) });
      const bytes = encodeQuote(input({ version, tee: 'sgx', body }));
      const q = parseQuote(bytes);
      assert.equal(q.header.version, version);
      assert.equal(q.tee, 'sgx');
      assert.equal(q.body.kind, 'sgx');
      if (version === 5) assert.deepEqual([...bytes.subarray(48, 54)], [1, 0, 0x80, 1, 0, 0]);
      assert.ok(sigOk(q));
    }
  });

  test('encoder refuses wrong sizes and impossible combinations (ERR_QUOTE_ENCODE)', () => {
    const isEncodeErr = (e: unknown): boolean =>
      e instanceof EvidenceParseError && e.code === 'ERR_QUOTE_ENCODE' && e.step === 'encode';
    assert.throws(() => encodeSgxReportBody({ mrEnclave: fill(31, 0) }), isEncodeErr);
    assert.throws(() => encodeSgxReportBody({ isvSvn: 0x10000 }), isEncodeErr);
    assert.throws(() => encodeTdReportBody({ kind: 'td10', mrServiceTd: fill(48, 0) }), isEncodeErr);
    assert.throws(() => encodeQuote(input({ version: 3, tee: 'tdx', body: encodeTdReportBody({}) })), isEncodeErr);
    assert.throws(
      () => encodeQuote(input({ version: 4, tee: 'tdx', body: encodeTdReportBody({ kind: 'td15' }) })),
      isEncodeErr,
    );
    assert.throws(() => encodeQuote(input({ tee: 'sgx', body: new Uint8Array(100) })), isEncodeErr);
    assert.throws(() => encodeQuote(input({ attestationKey: fill(65, 4) })), isEncodeErr);
    assert.throws(() => encodeQuote(input({ qeAuthData: new Uint8Array(0x10000) })), isEncodeErr);
  });
});
