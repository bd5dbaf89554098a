import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_QUOTE_BYTES, parseQuote, RatlsError, sha256Hex } from '@ratls/evidence';
import { type DcapCase, dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { collateralFromJson } from '../collateral/json.js';
import { isVerifiedResult } from '../result.js';
import { createQuoteVerifier, parsedQuoteEntry } from './quote-verifier.js';
import { verifyParsedQuote, verifyQuote } from './verify-quote.js';

async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    assert.ok(e instanceof RatlsError, String(e));
    return { code: e.code, step: e.step };
  }
}

const cases = dcapCases();
const sgx = () =>
  cases.find((c) => c.name === 'sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06') as DcapCase;

describe('the parsed-quote entries (one parse per decision)', { skip: SKIP_NO_VECTORS }, () => {
  test('verifyParsedQuote gives the results and errors of verifyQuote on every case', async () => {
    for (const c of cases) {
      const quote = readVector(c.quote);
      const text = readVectorText(c.collateral);
      const want = await outcome(verifyQuote(quote, text, { at: c.at }));
      const got = await outcome(verifyParsedQuote(parseQuote(quote), quote, sha256Hex(quote), text, { at: c.at }));
      assert.deepEqual(got, want, c.name);
      if (c.expect.ok) assert.ok(isVerifiedResult(got), c.name);
    }
  });

  test('an oversized quote is refused with ERR_QUOTE_TOO_LARGE even when handed in parsed', async () => {
    const c = sgx();
    const quote = readVector(c.quote);
    const big = new Uint8Array(MAX_QUOTE_BYTES + 1);
    big.set(quote);
    // The parser bounds the quote itself; the appraiser's own bound must hold on this entry as well.
    const r = await outcome(
      verifyParsedQuote(parseQuote(quote), big, sha256Hex(big), readVectorText(c.collateral), { at: c.at }),
    );
    assert.deepEqual(r, { code: 'ERR_QUOTE_TOO_LARGE', step: 'parse' });
  });

  test('only a verifier createQuoteVerifier made has the parsed entry; a look-alike gets the bytes', async () => {
    const c = sgx();
    const col = collateralFromJson(readVectorText(c.collateral));
    const v = createQuoteVerifier({ collateralSource: { getCollateral: async () => col } });
    const entry = parsedQuoteEntry(v);
    assert.equal(typeof entry, 'function');
    // An attacker's object copying the real verifier's methods is not in the registry.
    assert.equal(parsedQuoteEntry({ verify: v.verify, stats: v.stats, clear: v.clear }), undefined);
    assert.equal(parsedQuoteEntry({ ...v }), undefined);
    assert.equal(parsedQuoteEntry(null), undefined);
    const quote = readVector(c.quote);
    const viaEntry = await (entry as NonNullable<typeof entry>)(parseQuote(quote), quote, sha256Hex(quote), {
      at: c.at,
    });
    assert.ok(isVerifiedResult(viaEntry));
    assert.deepEqual(viaEntry, await verifyQuote(quote, col, { at: c.at }));
    // The second call is a result hit for the same bytes, through either entry.
    assert.deepEqual(await v.verify(quote, { at: c.at }), viaEntry);
    assert.equal(v.stats().resultHits, 1);
    assert.equal(v.stats().pckChainVerifications, 1);
  });

  test('the parsed entry applies the appraiser bounds too (ERR_QUOTE_TOO_LARGE)', async () => {
    const c = sgx();
    const col = collateralFromJson(readVectorText(c.collateral));
    const v = createQuoteVerifier({ collateralSource: { getCollateral: async () => col } });
    const entry = parsedQuoteEntry(v) as NonNullable<ReturnType<typeof parsedQuoteEntry>>;
    const big = new Uint8Array(MAX_QUOTE_BYTES + 1);
    const quote = readVector(c.quote);
    big.set(quote);
    const r = await outcome(entry(parseQuote(quote), big, sha256Hex(big), { at: c.at }));
    assert.deepEqual(r, { code: 'ERR_QUOTE_TOO_LARGE', step: 'parse' });
  });
});
