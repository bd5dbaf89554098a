import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { readVector, SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';
import fc from 'fast-check';
import { RatlsError } from '../errors.js';
import { parseQuote } from './parse.js';
import { parseQuoteText } from './text.js';

/** Parses or throws a RatlsError; anything else fails the property. */
function parsesOrTyped(b: Uint8Array): boolean {
  try {
    parseQuote(b);
    return true;
  } catch (e) {
    if (e instanceof RatlsError && e.step === 'parse' && e.code.startsWith('ERR_QUOTE_')) return false;
    throw e;
  }
}

const files = SKIP_NO_VECTORS ? [] : readdirSync(vectorPath('dcap-cases')).filter((f) => f.endsWith('.quote.bin'));
const quotes = files.map((f) => readVector(`dcap-cases/${f}`));

describe('parseQuote properties', () => {
  test('arbitrary bytes never throw anything but a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => {
        parsesOrTyped(b);
      }),
      { numRuns: 2000 },
    );
  });

  test('arbitrary bytes behind a valid v3/v4/v5 header prefix', { skip: SKIP_NO_VECTORS }, () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...quotes),
        fc.nat({ max: 1200 }),
        fc.uint8Array({ maxLength: 6000 }),
        (q, keep, tail) => {
          const b = new Uint8Array(Math.min(keep, q.length) + tail.length);
          b.set(q.subarray(0, Math.min(keep, q.length)));
          b.set(tail, Math.min(keep, q.length));
          parsesOrTyped(b);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('every truncation of every real quote is refused with ERR_QUOTE_TRUNCATED', { skip: SKIP_NO_VECTORS }, () => {
    // Every length for the first quote of each version; a dense sample (every 7th length, plus
    // every length around the structure boundaries) for the rest, to keep the suite quick.
    const seenVersion = new Set<number>();
    for (const q of quotes) {
      const full = parseQuote(q);
      const every = !seenVersion.has(full.header.version);
      seenVersion.add(full.header.version);
      for (let n = 0; n < full.length; n++) {
        if (!every && n % 7 !== 0 && n > 1200 && n < full.length - 64) continue;
        assert.throws(
          () => parseQuote(q.subarray(0, n)),
          (e: unknown) => e instanceof RatlsError && e.code === 'ERR_QUOTE_TRUNCATED',
          `length ${n}`,
        );
      }
    }
  });

  test('mutating any byte of a length or type field never escapes untyped', { skip: SKIP_NO_VECTORS }, () => {
    for (const q of quotes) {
      const p = parseQuote(q);
      const dv = new DataView(q.buffer, q.byteOffset);
      const sigAt = p.signedBytes.length;
      const at: number[] = [0, 1, 2, 3, 4, 5, 6, 7];
      if (p.header.version === 5) at.push(48, 49, 50, 51, 52, 53);
      at.push(sigAt, sigAt + 1, sigAt + 2, sigAt + 3);
      let off = sigAt + 4 + 128;
      if (p.header.version !== 3) {
        at.push(...[0, 1, 2, 3, 4, 5].map((i) => off + i));
        off += 6;
      }
      off += 384 + 64;
      at.push(off, off + 1);
      off += 2 + dv.getUint16(off, true);
      at.push(...[0, 1, 2, 3, 4, 5].map((i) => off + i));
      for (const i of at) {
        for (const v of [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, (q[i] as number) ^ 1]) {
          const m = q.slice();
          m[i] = v;
          parsesOrTyped(m);
        }
      }
    }
  });

  test('random single-byte mutations anywhere in real quotes', { skip: SKIP_NO_VECTORS }, () => {
    fc.assert(
      fc.property(fc.constantFrom(...quotes), fc.nat(), fc.integer({ min: 0, max: 255 }), (q, i, v) => {
        const m = q.slice();
        m[i % m.length] = v;
        parsesOrTyped(m);
      }),
      { numRuns: 2000 },
    );
  });

  test('parseQuoteText never throws untyped', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          parseQuoteText(s);
        } catch (e) {
          if (!(e instanceof RatlsError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});
