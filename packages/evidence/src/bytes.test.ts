import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { fromHex, toHex } from './bytes.js';
import { EvidenceParseError } from './errors.js';

const refused = (s: string) =>
  assert.throws(
    () => fromHex(s),
    (e: unknown) => e instanceof EvidenceParseError && e.code === 'ERR_HEX_INVALID',
    JSON.stringify(s),
  );

test('fromHex: ERR_HEX_INVALID for a non-hex character anywhere, odd length, inner 0x or spaces', () => {
  const good = '00ff7fA0bc';
  for (let i = 0; i < good.length; i++) {
    for (const bad of ['g', 'G', ' ', 'x', '-', '\u00e9', '\u0660', '\n']) {
      const s = good.slice(0, i) + bad + good.slice(i + 1);
      // Outer whitespace and a leading 0x are allowed forms, not refusals.
      if ((s.trim() !== s && (i === 0 || i === good.length - 1)) || s.startsWith('0x')) continue;
      refused(s);
    }
  }
  refused('abc');
  refused('0x0x00');
  refused('00 ff');
  assert.deepEqual(fromHex(' 0x00FFab\n'), Uint8Array.from([0, 255, 171]));
  assert.deepEqual(fromHex(''), new Uint8Array(0));
});

test('fromHex: accepts exactly /^[0-9a-fA-F]*$/ of even length, round-trips toHex', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      assert.deepEqual(fromHex(toHex(b)), b);
      assert.deepEqual(fromHex(toHex(b).toUpperCase()), b);
    }),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 12 }), (s) => {
      const t = s.trim().replace(/^0[xX]/, '');
      const ok = t.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(t);
      let got = true;
      try {
        fromHex(s);
      } catch (e) {
        assert.ok(e instanceof EvidenceParseError && e.code === 'ERR_HEX_INVALID');
        got = false;
      }
      assert.equal(got, ok, JSON.stringify(s));
    }),
    { numRuns: 5000 },
  );
});
