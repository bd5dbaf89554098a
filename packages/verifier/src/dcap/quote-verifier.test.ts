import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { type DcapCase, dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { collateralFromJson } from '../collateral/json.js';
import type { CollateralRequest, CollateralSource, DcapCollateral } from '../collateral/types.js';
import { isVerifiedResult } from '../result.js';
import { createQuoteVerifier } from './quote-verifier.js';
import { verifyQuote } from './verify-quote.js';

const cases = dcapCases();
const byName = (n: string) => cases.find((c) => c.name === n) as DcapCase;

/** A source that serves one collateral file and counts requests. */
function fixedSource(c: DcapCase): CollateralSource & { calls: CollateralRequest[] } {
  const col = collateralFromJson(readVectorText(c.collateral));
  const calls: CollateralRequest[] = [];
  return {
    calls,
    async getCollateral(req): Promise<DcapCollateral> {
      calls.push(req);
      return col;
    },
  };
}

function withTrailer(q: Uint8Array, n: number): Uint8Array {
  const v = new Uint8Array(q.length + 1);
  v.set(q);
  v[q.length] = n;
  return v;
}

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    assert.ok(e instanceof RatlsError, String(e));
    return { code: e.code, step: e.step };
  }
}

describe('createQuoteVerifier', { skip: SKIP_NO_VECTORS }, () => {
  test('gives the same results and errors as verifyQuote on every case (cold and warm)', async () => {
    for (const c of cases) {
      const quote = readVector(c.quote);
      const v = createQuoteVerifier({ collateralSource: fixedSource(c) });
      const want = await outcome(verifyQuote(quote, readVectorText(c.collateral), { at: c.at }));
      assert.deepEqual(await outcome(v.verify(quote, { at: c.at })), want, c.name);
      const again = await outcome(v.verify(quote, { at: c.at }));
      assert.deepEqual(again, want, `${c.name} (cached)`);
      if (c.expect.ok) assert.ok(isVerifiedResult(again));
    }
  });

  test('verifies collateral once per (tee, fmspc, pckCa) and caches chains, QE reports and results', async () => {
    const c = byName('sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06');
    const src = fixedSource(c);
    const v = createQuoteVerifier({ collateralSource: src });
    const quote = readVector(c.quote);
    const first = await v.verify(quote, { at: c.at });
    for (let i = 1; i <= 5; i++) await v.verify(withTrailer(quote, i), { at: c.at - i });
    const again = await v.verify(quote, { at: c.at });
    assert.deepEqual(again, first);
    assert.notEqual(again, first, 'a cached result is handed out as a copy');
    const s = v.stats();
    assert.equal(s.collateralVerifications, 1);
    assert.equal(s.collateralFetches, 1);
    assert.equal(s.collateralHits, 5);
    assert.equal(s.pckChainVerifications, 1);
    assert.equal(s.pckChainHits, 5);
    assert.equal(s.qeReportVerifications, 1);
    assert.equal(s.qeReportHits, 5);
    assert.equal(s.resultHits, 1);
    assert.deepEqual(src.calls[0], { tee: 'sgx', fmspc: '00a067110000', pckCa: 'processor' });
  });

  test('respects the collateral window: past nextUpdate it fetches again and refuses', async () => {
    const c = byName('sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2023-11');
    const src = fixedSource(c);
    const v = createQuoteVerifier({ collateralSource: src });
    const quote = readVector(c.quote);
    await v.verify(quote, { at: c.at });
    await assert.rejects(v.verify(quote, { at: c.window[1] + 1 }), (e: unknown) => {
      assert.ok(e instanceof RatlsError && ['ERR_COLLATERAL_EXPIRED', 'ERR_CERT_EXPIRED'].includes(e.code), String(e));
      return true;
    });
    await assert.rejects(v.verify(withTrailer(quote, 1), { at: c.window[1] + 1 }), RatlsError);
    assert.equal(v.stats().resultHits, 0, 'a cached result is not reused outside its window');
    assert.ok(src.calls.length >= 2, 'collateral was fetched again once `at` left its window');
    // Inside the window again: the good entry is still there.
    await v.verify(withTrailer(quote, 2), { at: c.at });
  });

  test('caches are bounded', async () => {
    const c = byName('tdx__phala-dcap-qvl__tdx_quote.bin@dcapqvl_tdx_2025-06');
    const v = createQuoteVerifier({ collateralSource: fixedSource(c), cache: { maxEntries: 2 } });
    const quote = readVector(c.quote);
    for (let i = 0; i < 4; i++) await v.verify(withTrailer(quote, i), { at: c.at });
    await v.verify(withTrailer(quote, 3), { at: c.at });
    assert.equal(v.stats().resultHits, 1);
    await v.verify(withTrailer(quote, 0), { at: c.at });
    assert.equal(v.stats().resultHits, 1, 'the oldest result was evicted');
  });

  test('a failing collateral source surfaces its typed error', async () => {
    const c = byName('sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06');
    const v = createQuoteVerifier({
      collateralSource: {
        async getCollateral() {
          throw new RatlsError<string>('ERR_COLLATERAL_UNAVAILABLE', 'collateral', 'no PCCS');
        },
      },
    });
    await assert.rejects(v.verify(readVector(c.quote), { at: c.at }), { code: 'ERR_COLLATERAL_UNAVAILABLE' });
  });
});
