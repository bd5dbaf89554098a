import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deepFreeze } from './freeze.js';

describe('deepFreeze', () => {
  test('non-strict: nested objects and arrays frozen, typed arrays and class instances left, cycles end', () => {
    const bytes = new Uint8Array(4);
    const inst = new Map<string, number>();
    const shared = { n: 1 };
    const v: Record<string, unknown> = { a: { b: [{ c: shared }, [shared]] }, bytes, inst, nul: null, s: 'x' };
    v.self = v;
    deepFreeze(v, false);
    assert.ok(Object.isFrozen(v) && Object.isFrozen(v.a) && Object.isFrozen(shared));
    const arr = (v.a as { b: unknown[] }).b;
    assert.ok(Object.isFrozen(arr) && Object.isFrozen(arr[1]));
    assert.throws(() => arr.push(1), TypeError);
    assert.throws(() => {
      shared.n = 2;
    }, TypeError);
    bytes[0] = 1;
    inst.set('k', 1);
    assert.equal(bytes[0], 1);
  });

  test('strict: a typed array or a function anywhere is refused with its path', () => {
    assert.throws(() => deepFreeze({ a: [{ b: new Uint8Array(1) }] }, true), /\$\.a\.0\.b is not a plain object/);
    assert.throws(() => deepFreeze({ f: () => 1 }, true), /function at \$\.f/);
  });
});
