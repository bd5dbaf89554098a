import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readVector, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { RatlsError } from '../errors.js';
import { parseQuote } from '../quote/parse.js';
import { EvidenceParses } from './evidence-parses.js';

const QUOTE = 'dcap-cases/sgx-dcap__phala-dcap-qvl__sgx_quote.bin.quote.bin';

describe('EvidenceParses', { skip: SKIP_NO_VECTORS }, () => {
  test('parses each evidence view once and hands the same parse on', () => {
    const evidence = readVector(QUOTE);
    const parses = new EvidenceParses();
    const first = parses.quote({ evidence });
    assert.equal(parses.quote({ evidence }), first);
    assert.deepEqual(first, parseQuote(evidence));
    // Another view of equal bytes is another piece of evidence: parsed on its own.
    const copy = evidence.slice();
    assert.notEqual(parses.quote({ evidence: copy }), first);
  });

  test('a truncated quote fails with the parser code every time it is asked (failures are not kept)', () => {
    const evidence = readVector(QUOTE).subarray(0, 100);
    const parses = new EvidenceParses();
    let want: string | undefined;
    try {
      parseQuote(evidence);
    } catch (e) {
      assert.ok(e instanceof RatlsError);
      want = e.code;
    }
    assert.ok(want);
    for (let i = 0; i < 2; i++) {
      assert.throws(
        () => parses.quote({ evidence }),
        (e: unknown) => e instanceof RatlsError && e.code === want,
      );
    }
  });
});
