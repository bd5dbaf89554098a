import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import { parseQuote, RatlsError } from '@ratls/evidence';
import { type DcapCase, dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { x509 } from '@ratls/test-support/x509';
import fc from 'fast-check';
import { collateralFromJson } from '../collateral/json.js';
import type { QuoteCollateralV3Json } from '../collateral/types.js';
import { parseCertificate } from '../pki/certificate.js';
import { isVerifiedResult } from '../result.js';
import { trustAnchorFrom } from '../trust.js';
import { verifyQuote } from './verify-quote.js';

const QVL_STATUS: Record<string, string> = {
  STATUS_OK: 'UpToDate',
  STATUS_TCB_SW_HARDENING_NEEDED: 'SWHardeningNeeded',
  STATUS_TCB_CONFIGURATION_NEEDED: 'ConfigurationNeeded',
  STATUS_TCB_CONFIGURATION_AND_SW_HARDENING_NEEDED: 'ConfigurationAndSWHardeningNeeded',
  STATUS_TCB_OUT_OF_DATE: 'OutOfDate',
  STATUS_TCB_OUT_OF_DATE_CONFIGURATION_NEEDED: 'OutOfDateConfigurationNeeded',
};
const EXPIRY_CODES = new Set(['ERR_CERT_EXPIRED', 'ERR_COLLATERAL_EXPIRED']);

async function rejects(p: Promise<unknown>, code: string, step?: string): Promise<RatlsError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RatlsError, `expected a RatlsError, got ${String(e)}`);
    assert.equal(e.code, code, `${e.code} (${e.step}): ${e.message}`);
    if (step) assert.equal(e.step, step);
    return e;
  }
  assert.fail(`expected ${code}, but verification succeeded`);
}

const cases = dcapCases();
const byName = (n: string) => cases.find((c) => c.name === n) as DcapCase;
const load = (c: DcapCase) => ({ quote: readVector(c.quote), collateral: readVectorText(c.collateral) });

describe('verifyQuote: every DCAP case matches Intel QVL', { skip: SKIP_NO_VECTORS }, () => {
  for (const c of cases) {
    test(c.name, async () => {
      const { quote, collateral } = load(c);
      if (!c.expect.ok) {
        const e = await rejects(verifyQuote(quote, collateral, { at: c.at }), 'ERR_TCB_NOT_SUPPORTED');
        assert.equal(c.expect.intelQvl, 'STATUS_TCB_NOT_SUPPORTED');
        assert.equal(e.step, 'tcb-level');
        return;
      }
      const r = await verifyQuote(quote, collateral, { at: c.at });
      assert.ok(isVerifiedResult(r));
      assert.equal(r.tee, c.tee.toLowerCase());
      assert.equal(r.tcbStatus, c.expect.tcbStatus);
      assert.equal(r.tcbStatus, QVL_STATUS[c.expect.intelQvl]);
      assert.equal(r.platformTcbStatus, c.expect.platformTcb);
      assert.equal(r.qeTcbStatus, c.expect.qeTcb);
      assert.deepEqual(r.advisoryIds, c.expect.advisoryIds);
      assert.deepEqual(r.collateralWindow, { notBefore: c.window[0], notAfter: c.window[1] });
      assert.equal(r.debug, c.debug);
      assert.equal(r.simulated, false);
      assert.equal(r.quoteVersion, parseQuote(quote).header.version);
      if (r.tee === 'tdx') {
        const [status, id] = c.expect.tdxModule ?? ['UpToDate', undefined];
        assert.equal(r.tdxModuleTcbStatus, status);
        assert.equal(r.tdxModuleId, id);
        assert.equal(r.measurements.mrTd, c.identity.mr_td);
        assert.equal(r.measurements.reportData, c.identity.report_data);
      } else {
        assert.equal(r.measurements.mrEnclave, c.identity.mrenclave);
        assert.equal(r.measurements.mrSigner, c.identity.mrsigner);
      }
    });
  }
});

describe('verifyQuote: refuses outside the collateral window', { skip: SKIP_NO_VECTORS }, () => {
  for (const c of cases.filter((x) => x.expect.ok)) {
    test(c.name, async () => {
      const { quote, collateral } = load(c);
      for (const at of [c.window[0] - 1, c.window[1] + 1]) {
        await assert.rejects(verifyQuote(quote, collateral, { at }), (e: unknown) => {
          assert.ok(e instanceof RatlsError && EXPIRY_CODES.has(e.code), String(e));
          return true;
        });
      }
      await verifyQuote(quote, collateral, { at: new Date(c.window[0] * 1000) });
      await verifyQuote(quote, collateral, { at: c.window[1] });
    });
  }
});

describe('verifyQuote: negative cases', { skip: SKIP_NO_VECTORS }, () => {
  const sgx = byName('sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06');
  const tdx = byName('tdx__phala-dcap-qvl__tdx_quote.bin@dcapqvl_tdx_2025-06');
  const flip = (b: Uint8Array, i: number) => {
    const m = b.slice();
    m[i] = (m[i] as number) ^ 0x01;
    return m;
  };
  const offsetOf = (whole: Uint8Array, part: Uint8Array) => {
    const i = Buffer.from(whole).indexOf(Buffer.from(part));
    assert.ok(i >= 0);
    return i;
  };

  for (const c of [sgx, tdx]) {
    const { quote, collateral } = load(c);
    const q = parseQuote(quote);
    const sd = q.signatureData;
    const v = (b: Uint8Array) => verifyQuote(b, collateral, { at: c.at });
    // Report data is the last 64 bytes of the body (SGX: 384-byte body; TDX TD 1.0: 584).
    const reportDataAt = 48 + (c.tee === 'SGX' ? 320 : 520);
    test(`${c.tee}: flipped byte in the report body → ERR_QUOTE_SIGNATURE`, async () => {
      await rejects(v(flip(quote, reportDataAt + 10)), 'ERR_QUOTE_SIGNATURE', 'quote-signature');
      await rejects(v(flip(quote, 48 + (c.tee === 'SGX' ? 64 : 136))), 'ERR_QUOTE_SIGNATURE'); // MRENCLAVE / MR_TD
    });
    test(`${c.tee}: flipped byte in the quote signature → ERR_QUOTE_SIGNATURE`, async () => {
      await rejects(v(flip(quote, offsetOf(quote, sd.signature) + 5)), 'ERR_QUOTE_SIGNATURE');
    });
    test(`${c.tee}: flipped byte in the attestation key → ERR_QE_REPORT_DATA`, async () => {
      await rejects(v(flip(quote, offsetOf(quote, sd.attestationKey) + 7)), 'ERR_QE_REPORT_DATA', 'qe-report');
    });
    test(`${c.tee}: flipped byte in the QE report → ERR_QE_REPORT_SIGNATURE`, async () => {
      await rejects(v(flip(quote, offsetOf(quote, sd.qeReport.raw) + 200)), 'ERR_QE_REPORT_SIGNATURE', 'qe-report');
    });
    test(`${c.tee}: flipped byte in the QE report signature → ERR_QE_REPORT_SIGNATURE`, async () => {
      await rejects(v(flip(quote, offsetOf(quote, sd.qeReportSignature) + 40)), 'ERR_QE_REPORT_SIGNATURE');
    });
    test(`${c.tee}: flipped byte in the QE auth data → ERR_QE_REPORT_DATA`, async () => {
      assert.ok(sd.qeAuthData.length > 0);
      await rejects(v(flip(quote, offsetOf(quote, sd.qeAuthData))), 'ERR_QE_REPORT_DATA');
    });
    test(`${c.tee}: changed character in the PCK leaf certificate → ERR_CERT_SIGNATURE`, async () => {
      const pem = sd.pckChainPem as string;
      const at = offsetOf(quote, new TextEncoder().encode(pem));
      const begin = pem.indexOf('-----BEGIN CERTIFICATE-----') + 27;
      const end = pem.indexOf('-----END CERTIFICATE-----');
      const body = pem.slice(begin, end);
      const der = new Uint8Array(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
      // Flip the last byte of the leaf's public key point (inside the signed TBS), re-encode to
      // base64 of the same length, and write it back over the same (non-whitespace) positions.
      const k = offsetOf(der, parseCertificate(der).publicKeyBits) + 64;
      der[k] = (der[k] as number) ^ 0x01;
      const b64 = Buffer.from(der).toString('base64');
      const m = quote.slice();
      let j = 0;
      for (let i = 0; i < body.length; i++) {
        if (/\s/.test(body[i] as string)) continue;
        m[at + begin + i] = b64.charCodeAt(j++);
      }
      await rejects(v(m), 'ERR_CERT_SIGNATURE', 'pck-chain');
    });
  }

  test('tampered TCB info (one character) → ERR_TCB_INFO_SIGNATURE', async () => {
    const { quote, collateral } = load(sgx);
    const j = JSON.parse(collateral) as QuoteCollateralV3Json;
    j.tcb_info = j.tcb_info.replace('"tcbEvaluationDataNumber":17', '"tcbEvaluationDataNumber":18');
    assert.notEqual(j.tcb_info, JSON.parse(collateral).tcb_info);
    await rejects(verifyQuote(quote, j, { at: sgx.at }), 'ERR_TCB_INFO_SIGNATURE', 'tcb-info');
  });

  test('tampered QE identity (one character) → ERR_QE_IDENTITY_SIGNATURE', async () => {
    const { quote, collateral } = load(sgx);
    const j = JSON.parse(collateral) as QuoteCollateralV3Json;
    j.qe_identity = j.qe_identity.replace('"isvprodid":1', '"isvprodid":2');
    assert.notEqual(j.qe_identity, JSON.parse(collateral).qe_identity);
    await rejects(verifyQuote(quote, j, { at: sgx.at }), 'ERR_QE_IDENTITY_SIGNATURE', 'qe-identity');
  });

  test('re-serialized (but equivalent) TCB info JSON is refused: the signature covers the exact text', async () => {
    const { quote, collateral } = load(sgx);
    const j = JSON.parse(collateral) as QuoteCollateralV3Json;
    j.tcb_info = JSON.stringify(JSON.parse(j.tcb_info), null, 1);
    await rejects(verifyQuote(quote, j, { at: sgx.at }), 'ERR_TCB_INFO_SIGNATURE');
  });

  test('collateral of another FMSPC → ERR_FMSPC_MISMATCH', async () => {
    // Same PCK CA (Platform), same time, different FMSPC: tdx_quote_6 (00a06d080000) with the
    // 2025-10 collateral of FMSPC 00806f050000.
    const c = byName('tdx__trustee__tdx_quote_6.dat@trustee_tdx_00a06d_2025-10');
    const other = byName('tdx__automata__quotev4.hex@auto_tdx_00806f_2025-10');
    await rejects(
      verifyQuote(readVector(c.quote), readVectorText(other.collateral), { at: c.at }),
      'ERR_FMSPC_MISMATCH',
      'tcb-info-match',
    );
  });

  test('SGX TCB info for a TDX quote → ERR_TCB_INFO_TEE_MISMATCH', async () => {
    const quote = readVector('tdx/phala-dcap-qvl/tdx_quote_2024-09_historical.bin');
    const col = readVectorText('tdx/phala-dcap-qvl/tdx_quote_2024-09_historical_collateral_SGX-tcbinfo.NEGATIVE.json');
    await rejects(
      verifyQuote(quote, col, { at: Date.parse('2024-09-02T12:00:00Z') / 1000 }),
      'ERR_TCB_INFO_TEE_MISMATCH',
    );
  });

  test('SGX collateral for a TDX quote of the same FMSPC is refused by id', async () => {
    const { quote } = load(tdx);
    const { collateral } = load(sgx);
    await assert.rejects(verifyQuote(quote, collateral, { at: sgx.at }), RatlsError);
  });

  test('untrusted root (another self-signed certificate) → ERR_UNTRUSTED_ROOT', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const other = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=Intel SGX Root CA',
      keys,
      signingAlgorithm: alg,
      notBefore: new Date('2018-01-01T00:00:00Z'),
      notAfter: new Date('2049-01-01T00:00:00Z'),
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const { quote, collateral } = load(sgx);
    await rejects(
      verifyQuote(quote, collateral, { at: sgx.at, trustAnchors: [trustAnchorFrom(new Uint8Array(other.rawData))] }),
      'ERR_UNTRUSTED_ROOT',
      'pck-chain',
    );
  });

  test('accepts collateral as JSON text, JSON object and DcapCollateral with equal results', async () => {
    const { quote, collateral } = load(sgx);
    const a = await verifyQuote(quote, collateral, { at: sgx.at });
    const b = await verifyQuote(quote, JSON.parse(collateral) as QuoteCollateralV3Json, { at: sgx.at });
    const c = await verifyQuote(quote, collateralFromJson(collateral), { at: new Date(sgx.at * 1000) });
    assert.deepEqual(a, b);
    assert.deepEqual(a, c);
  });

  test('bad inputs are typed errors', async () => {
    const { quote, collateral } = load(sgx);
    await rejects(verifyQuote(quote, collateral, { at: Number.NaN }), 'ERR_TIME_INVALID');
    await rejects(verifyQuote(quote, '{}', { at: sgx.at }), 'ERR_COLLATERAL_MISSING');
    await assert.rejects(verifyQuote(quote.subarray(0, 600), collateral, { at: sgx.at }), RatlsError);
    const big = new Uint8Array(70 * 1024);
    await rejects(verifyQuote(big, collateral, { at: sgx.at }), 'ERR_QUOTE_TOO_LARGE');
    await rejects(verifyQuote(quote, collateral, undefined as never), 'ERR_TIME_INVALID');
    await rejects(verifyQuote('quote' as never, collateral, { at: sgx.at }), 'ERR_QUOTE_INVALID');
    await rejects(verifyQuote(quote, null as never, { at: sgx.at }), 'ERR_COLLATERAL_MALFORMED');
    const j = { ...(JSON.parse(collateral) as QuoteCollateralV3Json), pck_crl: 'zz' };
    await rejects(verifyQuote(quote, j, { at: sgx.at }), 'ERR_COLLATERAL_MALFORMED');
  });
});

describe('verifyQuote: mutated quotes', { skip: SKIP_NO_VECTORS }, () => {
  test('any single-byte change is refused with a RatlsError or verifies to the very same result', async () => {
    const c = byName('tdx__phala-dcap-qvl__tdx_quote.bin@dcapqvl_tdx_2025-06');
    const { quote, collateral } = load(c);
    const col = collateralFromJson(collateral);
    const want = await verifyQuote(quote, col, { at: c.at });
    const length = parseQuote(quote).length;
    await fc.assert(
      fc.asyncProperty(fc.nat(length - 1), fc.integer({ min: 1, max: 255 }), async (i, x) => {
        const m = quote.slice();
        m[i] = (m[i] as number) ^ x;
        try {
          const r = await verifyQuote(m, col, { at: c.at });
          // Only bytes nobody signs could change without a refusal (e.g. unused bits of a base64 character).
          assert.deepEqual({ ...r, evidenceSha256: '' }, { ...want, evidenceSha256: '' });
        } catch (e) {
          assert.ok(e instanceof RatlsError, `byte ${i}: ${String(e)}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});
