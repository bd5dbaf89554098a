import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BUCKET_MAX, ExactBytesMap, fnv1a } from './bytes-map.js';

const b = (...x: number[]): Uint8Array => Uint8Array.from(x);

describe('ExactBytesMap: exact bytes decide, the hash only picks a bucket', () => {
  test('attacker: colliding byte strings (every hash equal) never return each other’s value', () => {
    const m = new ExactBytesMap<string>(64, () => 7);
    m.set(1, b(1, 2, 3), 'a');
    m.set(1, b(1, 2, 4), 'b');
    m.set(2, b(1, 2, 3), 'c');
    assert.equal(m.get(1, b(1, 2, 3)), 'a');
    assert.equal(m.get(1, b(1, 2, 4)), 'b');
    assert.equal(m.get(2, b(1, 2, 3)), 'c');
    assert.equal(m.get(1, b(1, 2)), undefined);
    assert.equal(m.get(1, b(1, 2, 3, 0)), undefined);
    assert.equal(m.get(3, b(1, 2, 3)), undefined);
  });
  test('a bucket keeps at most BUCKET_MAX entries; colliding strings evict only each other', () => {
    const m = new ExactBytesMap<number>(64, (_t, x) => (x[0] === 0 ? 1 : 2));
    m.set(1, b(9), -1);
    for (let i = 0; i < BUCKET_MAX + 3; i++) m.set(1, b(0, i), i);
    assert.equal(m.size, BUCKET_MAX + 1);
    assert.equal(m.get(1, b(0, 0)), undefined);
    assert.equal(m.get(1, b(0, BUCKET_MAX + 2)), BUCKET_MAX + 2);
    assert.equal(m.get(1, b(9)), -1);
  });
  test('stores a private copy: editing the caller’s array later changes no lookup', () => {
    const m = new ExactBytesMap<string>(8);
    const k = b(1, 2, 3);
    m.set(1, k, 'v');
    k[0] = 9;
    assert.equal(m.get(1, b(1, 2, 3)), 'v');
    assert.equal(m.get(1, k), undefined);
  });
  test('bounded, least recently used first out; re-setting replaces', () => {
    const m = new ExactBytesMap<number>(3);
    m.set(1, b(1), 1);
    m.set(1, b(2), 2);
    m.set(1, b(3), 3);
    assert.equal(m.get(1, b(1)), 1); // now most recent
    m.set(1, b(4), 4);
    assert.equal(m.size, 3);
    assert.equal(m.get(1, b(2)), undefined);
    assert.equal(m.get(1, b(1)), 1);
    m.set(1, b(1), 10);
    assert.equal(m.size, 3);
    assert.equal(m.get(1, b(1)), 10);
  });
  test('property: behaves as a map of (tag, exact bytes) with a weak hash', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 2 }), fc.uint8Array({ maxLength: 3 }), fc.nat()), {
          maxLength: 40,
        }),
        (ops) => {
          // A 2-bit hash: most keys collide. Large enough a bound that nothing is evicted unless a bucket overflows.
          const m = new ExactBytesMap<number>(1000, (t, x) => (fnv1a(t, x) & 3) >>> 0);
          const ref = new Map<string, number>();
          for (const [t, k, v] of ops) {
            m.set(t, k, v);
            ref.set(`${t}:${k.join(',')}`, v);
          }
          for (const [t, k] of ops) {
            const got = m.get(t, k);
            // Either the value last set for exactly these bytes, or evicted by a full bucket: never another key's.
            if (got !== undefined) assert.equal(got, ref.get(`${t}:${k.join(',')}`));
          }
        },
      ),
    );
  });
});
