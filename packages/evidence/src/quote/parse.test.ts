import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  dcapCases,
  readVector,
  readVectorJson,
  readVectorText,
  SKIP_NO_VECTORS,
  vectorPath,
} from '@ratls/test-support/vectors';
import { toHex } from '../bytes.js';
import { EvidenceParseError } from '../errors.js';
import { parseQuote } from './parse.js';
import { isSgxDebug } from './sgx-report-body.js';
import { isTdDebug } from './td-report-body.js';
import { parseQuoteText } from './text.js';
import { MAX_QUOTE_BYTES } from './types.js';

interface ExpectedDcap {
  sha256_of_quote?: string;
  trailing_bytes: number;
  quote_version?: number;
}

function quoteFiles(): string[] {
  if (SKIP_NO_VECTORS) return [];
  return readdirSync(vectorPath('dcap-cases')).filter((f) => f.endsWith('.quote.bin'));
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('parseQuote on real quotes', { skip: SKIP_NO_VECTORS }, () => {
  test('every dcap-cases quote parses with the identity fields of cases.json', () => {
    const cases = dcapCases();
    assert.ok(cases.length > 0);
    for (const c of cases) {
      const q = parseQuote(readVector(c.quote));
      const id = c.identity;
      assert.equal(q.tee, c.tee.toLowerCase(), c.name);
      assert.equal(q.body.kind === 'sgx' ? isSgxDebug(q.body.report) : isTdDebug(q.body.report), c.debug, c.name);
      if (q.body.kind === 'sgx') {
        const r = q.body.report;
        assert.equal(q.header.version, 3, c.name);
        assert.equal(toHex(r.mrEnclave), id.mrenclave, c.name);
        assert.equal(toHex(r.mrSigner), id.mrsigner, c.name);
        assert.equal(r.isvProdId, id.isvprodid, c.name);
        assert.equal(r.isvSvn, id.isvsvn, c.name);
        assert.equal(toHex(r.attributes), id.attributes, c.name);
        assert.equal(toHex(r.reportData), id.report_data, c.name);
      } else {
        const r = q.body.report;
        assert.equal(toHex(r.mrTd), id.mr_td, c.name);
        assert.equal(toHex(r.mrSeam), id.mr_seam, c.name);
        assert.equal(toHex(r.tdAttributes), id.td_attributes, c.name);
        assert.equal(toHex(r.xfam), id.xfam, c.name);
        assert.equal(toHex(r.teeTcbSvn), id.tee_tcb_svn, c.name);
        assert.equal(toHex(r.mrConfigId), id.mr_config_id, c.name);
        assert.equal(toHex(r.mrOwner), id.mr_owner, c.name);
        for (const [i, m] of r.rtmr.entries()) assert.equal(toHex(m), id[`rtmr${i}`], `${c.name} rtmr${i}`);
        assert.equal(toHex(r.reportData), id.report_data, c.name);
        if (id.tee_tcb_svn2 !== undefined) {
          assert.equal(q.body.kind, 'td15', c.name);
          assert.equal(q.header.version, 5, c.name);
          assert.equal(toHex(r.teeTcbSvn2 ?? new Uint8Array()), id.tee_tcb_svn2, c.name);
          assert.equal(r.mrServiceTd?.length, 48);
        } else {
          assert.equal(q.body.kind, 'td10', c.name);
        }
      }
    }
  });

  test('trailing bytes match expected.json, PCK chain is exposed, lengths add up', () => {
    const expected = readVectorJson<{ dcap: ExpectedDcap[] }>('expected.json').dcap;
    const bySha = new Map(expected.filter((e) => e.sha256_of_quote).map((e) => [e.sha256_of_quote, e]));
    const files = quoteFiles();
    assert.ok(files.length >= 18);
    const seen = new Set<number>();
    for (const f of files) {
      const bytes = readVector(`dcap-cases/${f}`);
      const q = parseQuote(bytes);
      assert.equal(q.length + q.trailingBytes, bytes.length, f);
      const e = bySha.get(sha256(bytes.subarray(0, q.length))) ?? bySha.get(sha256(bytes));
      assert.ok(e, `${f} in expected.json`);
      assert.equal(q.trailingBytes, e.trailing_bytes, f);
      seen.add(q.trailingBytes);
      assert.equal(q.signatureData.certification.type, 5, f);
      assert.match(q.signatureData.pckChainPem ?? '', /^-----BEGIN CERTIFICATE-----/, f);
      assert.equal(q.signatureData.pckChainPem?.match(/BEGIN CERTIFICATE/g)?.length, 3, f);
      assert.equal(q.signatureData.signature.length, 64);
      assert.equal(q.signatureData.attestationKey.length, 64);
      assert.equal(q.signatureData.qeReport.raw.length, 384);
      const bodyEnd = q.header.version === 5 ? 54 : 48;
      assert.equal(q.signedBytes.length, bodyEnd + q.body.report.raw.length, f);
      assert.deepEqual(q.signedBytes, bytes.subarray(0, q.signedBytes.length));
    }
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [0, 39, 70, 3065],
    );
  });

  test('QE report data commits to the attestation key and QE auth data (sanity of offsets)', () => {
    for (const f of quoteFiles()) {
      const q = parseQuote(readVector(`dcap-cases/${f}`));
      const sd = q.signatureData;
      const h = createHash('sha256').update(sd.attestationKey).update(sd.qeAuthData).digest();
      assert.deepEqual(sd.qeReport.reportData.subarray(0, 32), new Uint8Array(h), f);
    }
  });

  test('a Buffer input never aliases the parsed fields', () => {
    const buf = Buffer.from(readVector('dcap-cases/sgx-dcap__phala-dcap-qvl__sgx_quote.bin.quote.bin'));
    const q = parseQuote(buf);
    assert.ok(q.body.kind === 'sgx');
    const before = toHex(q.body.report.mrEnclave);
    buf.fill(0);
    assert.equal(toHex(q.body.report.mrEnclave), before);
    assert.ok(!Buffer.isBuffer(q.signedBytes) && !Buffer.isBuffer(q.body.report.raw));
    assert.ok(!q.signedBytes.every((b) => b === 0));
  });

  test('hex text of a real quote (0x, line breaks) decodes to the same bytes', () => {
    const text = readVectorText('sgx-dcap/automata/quotev3.hex');
    const q = parseQuote(parseQuoteText(text));
    assert.equal(
      toHex(q.body.kind === 'sgx' ? q.body.report.mrEnclave : new Uint8Array()),
      'a4f45c39dac622cb1dd32ddb35a52ec92db41d0fa88a1c911c49e59c534f61cd',
    );
    const bin = readVector('dcap-cases/sgx-dcap__automata__quotev3.hex.quote.bin');
    const wrapped = `0x${toHex(bin).replace(/(.{64})/g, '$1\n  ')}\n`;
    assert.deepEqual(parseQuoteText(wrapped), bin);
  });
});

/** Asserts `fn` throws EvidenceParseError with `code` and step 'parse'. */
function rejects(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof EvidenceParseError, `expected EvidenceParseError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.step, 'parse');
    return true;
  });
}

describe('parseQuote refuses malformed quotes with specific codes', { skip: SKIP_NO_VECTORS }, () => {
  const v3 = (): Uint8Array => readVector('dcap-cases/sgx-dcap__phala-dcap-qvl__sgx_quote.bin.quote.bin');
  const v4 = (): Uint8Array => readVector('dcap-cases/tdx__phala-dcap-qvl__tdx_quote.bin.quote.bin');
  const v5 = (): Uint8Array => readVector('dcap-cases/tdx__phala-dcap-qvl__tdx_quote_outdated.bin.quote.bin');
  const u16 = (b: Uint8Array, off: number, v: number): Uint8Array => {
    new DataView(b.buffer, b.byteOffset).setUint16(off, v, true);
    return b;
  };
  const u32 = (b: Uint8Array, off: number, v: number): Uint8Array => {
    new DataView(b.buffer, b.byteOffset).setUint32(off, v, true);
    return b;
  };
  // Offsets of the length fields in these quotes.
  const V3_SIG = 48 + 384;
  const V4_SIG = 48 + 584;
  const V5_SIG = 48 + 6 + 648;

  test('ERR_QUOTE_TOO_LARGE', () =>
    rejects(() => parseQuote(new Uint8Array(MAX_QUOTE_BYTES + 1)), 'ERR_QUOTE_TOO_LARGE'));
  test('ERR_QUOTE_TRUNCATED (empty, header, body, signature data)', () => {
    rejects(() => parseQuote(new Uint8Array()), 'ERR_QUOTE_TRUNCATED');
    rejects(() => parseQuote(v3().subarray(0, 47)), 'ERR_QUOTE_TRUNCATED');
    rejects(() => parseQuote(v4().subarray(0, 600)), 'ERR_QUOTE_TRUNCATED');
    const b = v3();
    rejects(() => parseQuote(b.subarray(0, b.length - 1)), 'ERR_QUOTE_TRUNCATED');
  });
  test('ERR_QUOTE_VERSION', () => {
    rejects(() => parseQuote(u16(v3(), 0, 2)), 'ERR_QUOTE_VERSION');
    rejects(() => parseQuote(u16(v4(), 0, 6)), 'ERR_QUOTE_VERSION');
  });
  test('ERR_QUOTE_TEE_TYPE (unknown, and TDX in v3)', () => {
    rejects(() => parseQuote(u32(v4(), 4, 0x80)), 'ERR_QUOTE_TEE_TYPE');
    rejects(() => parseQuote(u32(v3(), 4, 0x81)), 'ERR_QUOTE_TEE_TYPE');
  });
  test('ERR_QUOTE_KEY_TYPE (ECDSA P-384 = 3)', () => rejects(() => parseQuote(u16(v3(), 2, 3)), 'ERR_QUOTE_KEY_TYPE'));
  test('ERR_QUOTE_BODY_TYPE (unknown v5 body type, SGX body under TDX)', () => {
    rejects(() => parseQuote(u16(v5(), 48, 4)), 'ERR_QUOTE_BODY_TYPE');
    rejects(() => parseQuote(u16(v5(), 48, 1)), 'ERR_QUOTE_BODY_TYPE');
  });
  test('ERR_QUOTE_LENGTH (v5 body size, signature data length too short or too long)', () => {
    rejects(() => parseQuote(u32(v5(), 50, 584)), 'ERR_QUOTE_LENGTH');
    const b = v3();
    const len = new DataView(b.buffer, b.byteOffset).getUint32(V3_SIG, true);
    rejects(() => parseQuote(u32(v3(), V3_SIG, len - 1)), 'ERR_QUOTE_LENGTH');
    // Longer than the quote: the buffer cannot hold what the field claims.
    rejects(() => parseQuote(u32(v3(), V3_SIG, len + 1)), 'ERR_QUOTE_TRUNCATED');
    // A longer field inside padding (v4 has 70 trailing zero bytes): contents end early.
    const t = v4();
    const tlen = new DataView(t.buffer, t.byteOffset).getUint32(V4_SIG, true);
    rejects(() => parseQuote(u32(t, V4_SIG, tlen + 10)), 'ERR_QUOTE_LENGTH');
    // QE auth data size larger than its container.
    const a = v4();
    rejects(() => parseQuote(u16(a, V4_SIG + 4 + 128 + 6 + 384 + 64, 0xffff)), 'ERR_QUOTE_LENGTH');
    // Outer type-6 size one short.
    const o = v5();
    const osize = new DataView(o.buffer, o.byteOffset).getUint32(V5_SIG + 4 + 128 + 2, true);
    rejects(() => parseQuote(u32(o, V5_SIG + 4 + 128 + 2, osize - 1)), 'ERR_QUOTE_LENGTH');
  });
  test('ERR_QUOTE_CERT_DATA (outer type not 6 in v4, inner type 6/7/0, non-PEM type 5)', () => {
    rejects(() => parseQuote(u16(v4(), V4_SIG + 4 + 128, 5)), 'ERR_QUOTE_CERT_DATA');
    const innerTypeAt = (b: Uint8Array, sigAt: number, outer: boolean): number => {
      const dv = new DataView(b.buffer, b.byteOffset);
      const authAt = sigAt + 4 + 128 + (outer ? 6 : 0) + 384 + 64;
      return authAt + 2 + dv.getUint16(authAt, true);
    };
    for (const t of [0, 6, 7, 0xffff]) {
      const b = v4();
      rejects(() => parseQuote(u16(b, innerTypeAt(b, V4_SIG, true), t)), 'ERR_QUOTE_CERT_DATA');
      const c = v3();
      rejects(() => parseQuote(u16(c, innerTypeAt(c, V3_SIG, false), t)), 'ERR_QUOTE_CERT_DATA');
    }
    const p = v3();
    const pemAt = innerTypeAt(p, V3_SIG, false) + 6;
    p[pemAt + 3] = 0xc3;
    rejects(() => parseQuote(p), 'ERR_QUOTE_CERT_DATA');
  });
  test('ERR_QUOTE_CERT_DATA for each byte just outside the PEM text alphabet, with its offset', () => {
    const innerAt = (b: Uint8Array): number => {
      const dv = new DataView(b.buffer, b.byteOffset);
      const authAt = V3_SIG + 4 + 128 + 384 + 64;
      return authAt + 2 + dv.getUint16(authAt, true) + 6;
    };
    for (const bad of [0x00, 0x08, 0x0b, 0x0c, 0x0e, 0x1f, 0x7f, 0x80, 0xff]) {
      const b = v3();
      const at = innerAt(b) + 40;
      b[at] = bad;
      assert.throws(
        () => parseQuote(b),
        (e: unknown) =>
          e instanceof EvidenceParseError &&
          e.code === 'ERR_QUOTE_CERT_DATA' &&
          e.message.includes(`byte 0x${bad.toString(16)} at offset 40 `),
      );
    }
  });
  test('ERR_QUOTE_CERT_DATA for type 5 text without a PEM certificate', () => {
    const b = v3();
    const text = Buffer.from(b).toString('latin1').replaceAll('BEGIN CERTIFICATE', 'BEGIN CERTIFICATX');
    rejects(() => parseQuote(new Uint8Array(Buffer.from(text, 'latin1'))), 'ERR_QUOTE_CERT_DATA');
  });
  test('type 1-4 innermost certification data parses without PEM text', () => {
    const c = v3();
    const dv = new DataView(c.buffer, c.byteOffset);
    const authAt = V3_SIG + 4 + 128 + 384 + 64;
    u16(c, authAt + 2 + dv.getUint16(authAt, true), 3);
    const q = parseQuote(c);
    assert.equal(q.signatureData.certification.type, 3);
    assert.equal(q.signatureData.pckChainPem, undefined);
  });
  test('ERR_QUOTE_INPUT for a non-Uint8Array', () =>
    rejects(() => parseQuote('00' as unknown as Uint8Array), 'ERR_QUOTE_INPUT'));
  test('parseQuoteText: ERR_QUOTE_TEXT and ERR_QUOTE_TOO_LARGE', () => {
    rejects(() => parseQuoteText('0x0g'), 'ERR_QUOTE_TEXT');
    rejects(() => parseQuoteText('abc'), 'ERR_QUOTE_TEXT');
    rejects(() => parseQuoteText('0x00\n0x00'), 'ERR_QUOTE_TEXT');
    rejects(() => parseQuoteText('00'.repeat(MAX_QUOTE_BYTES + 1)), 'ERR_QUOTE_TOO_LARGE');
    rejects(() => parseQuoteText('0'.repeat(MAX_QUOTE_BYTES * 4 + 1)), 'ERR_QUOTE_TOO_LARGE');
    assert.deepEqual(parseQuoteText(' 0X01 ff\r\n'), new Uint8Array([1, 255]));
  });
});
