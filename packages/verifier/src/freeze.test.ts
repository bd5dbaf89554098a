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

  test('a finished walk is not repeated: a frozen root inside a new value is left as it is, the rest frozen', () => {
    const result = deepFreeze({ m: { x: '1' }, list: [{ y: 2 }] }, true);
    const cached = deepFreeze({ result, results: [result], extra: { z: [3] } }, false);
    assert.ok(Object.isFrozen(cached) && Object.isFrozen(cached.extra.z) && Object.isFrozen(cached.results));
    assert.ok(Object.isFrozen(result.m) && Object.isFrozen(result.list[0]));
    // A strict walk still refuses non-plain values under a root only the non-strict walk froze.
    const built = deepFreeze({ k: { bytes: new Uint8Array(1) } }, false);
    assert.throws(() => deepFreeze({ built }, true), /\$\.built\.k\.bytes is not a plain object/);
  });

  test('a strict walk that threw marks nothing: the same graph is refused again', () => {
    const inner = { ok: { a: 1 }, bad: new Uint8Array(1) };
    const root = { inner };
    assert.throws(() => deepFreeze(root, true), /is not a plain object/);
    assert.throws(() => deepFreeze(root, true), /\$\.inner\.bad is not a plain object/);
    assert.throws(() => deepFreeze({ again: inner }, true), /\$\.again\.bad is not a plain object/);
  });
});
