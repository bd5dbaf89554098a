/**
 * Regression for finding 6 (lax PEM and DER): a PCK chain whose armour label is corrupted, and
 * non-canonical DER lengths, are refused with their specific codes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RatlsError, readDer } from '@ratls/evidence';
import { dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { verifyQuote } from './verify-quote.js';

function replaceOnce(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const text = Buffer.from(bytes).toString('latin1');
  const i = text.indexOf(from);
  assert.ok(i > 0 && from.length === to.length);
  const out = new Uint8Array(bytes);
  out.set(Buffer.from(to, 'latin1'), i);
  return out;
}

test('finding 6: a PCK chain with "BEGIN CERTIFICATD" in the quote is refused (ERR_CERT_MALFORMED ← ERR_PEM_MALFORMED)', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const c = dcapCases().find((x) => x.expect.ok && x.tee === 'SGX');
  assert.ok(c);
  const quote = readVector(c.quote);
  const collateral = readVectorText(c.collateral);
  assert.ok(await verifyQuote(quote, collateral, { at: c.at }));
  for (const [from, to] of [
    ['BEGIN CERTIFICATE', 'BEGIN CERTIFICATD'],
    ['END CERTIFICATE', 'END CERTIFICATD'],
  ] as const) {
    // The certification data lies outside the signed quote body: only the parser can refuse this.
    const bad = replaceOnce(quote, from, to);
    await assert.rejects(verifyQuote(bad, collateral, { at: c.at }), (e: unknown) => {
      assert.ok(e instanceof RatlsError, String(e));
      assert.equal(e.code, 'ERR_CERT_MALFORMED');
      assert.equal(e.step, 'pck-chain');
      assert.ok(e.cause instanceof RatlsError);
      assert.equal(e.cause.code, 'ERR_CERT_MALFORMED');
      assert.ok(e.cause.cause instanceof RatlsError);
      assert.equal(e.cause.cause.code, 'ERR_PEM_MALFORMED');
      return true;
    });
  }
});

test('finding 6: 04 81 02 (long form for a short length) is ERR_DER_MALFORMED', () => {
  assert.throws(() => readDer(Uint8Array.of(0x04, 0x81, 0x02, 0xaa, 0xbb)), { code: 'ERR_DER_MALFORMED' });
  assert.deepEqual(readDer(Uint8Array.of(0x04, 0x02, 0xaa, 0xbb)).end, 4);
});
