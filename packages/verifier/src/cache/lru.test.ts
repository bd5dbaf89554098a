import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Lru, VerifiedChainCache } from './lru.js';

describe('Lru', () => {
  test('evicts the least recently used; a windowed entry is dropped outside its window', () => {
    const c = new Lru<string, number>(2);
    c.set('a', 1, { from: 0, until: 10 });
    c.set('b', 2, { from: 0, until: 10 });
    c.get('a', 1);
    c.set('c', 3, { from: 0, until: 10 });
    assert.equal(c.get('b', 1), undefined);
    assert.equal(c.get('a', 1), 1);
    assert.equal(c.get('a', 10), undefined, 'until is exclusive');
    assert.equal(c.size, 1, 'the expired entry was dropped');
  });

  test('a windowed entry asked for without a time is a miss (fail closed)', () => {
    const c = new Lru<string, number>(4);
    c.set('a', 1, { from: 0, until: 10 });
    assert.equal(c.get('a'), undefined);
    c.set('b', 2, { from: 5, until: 10 });
    assert.equal(c.get('b', 4), undefined, 'before from');
  });

  test('an empty window or maxEntries 0 stores nothing; entries without a window ignore time', () => {
    const c = new Lru<string, number>(4);
    c.set('a', 1, { from: 10, until: 10 });
    assert.equal(c.size, 0);
    c.set('b', 2);
    assert.equal(c.get('b'), 2);
    assert.equal(c.get('b', 1e12), 2);
    const off = new Lru<string, number>(0);
    off.set('a', 1);
    assert.equal(off.size, 0);
    assert.deepEqual({ hits: c.hits, misses: c.misses }, { hits: 2, misses: 0 });
  });
});

describe('VerifiedChainCache', () => {
  test('keys depend on the label and on every certificate byte', () => {
    const a = VerifiedChainCache.key('snp-chain', [new Uint8Array([1, 2]), new Uint8Array([3])]);
    assert.notEqual(a, VerifiedChainCache.key('nitro-chain', [new Uint8Array([1, 2]), new Uint8Array([3])]));
    assert.notEqual(a, VerifiedChainCache.key('snp-chain', [new Uint8Array([1]), new Uint8Array([2, 3])]));
    const c = new VerifiedChainCache(1);
    c.set(a, { ok: 1 });
    assert.deepEqual(c.getAs<{ ok: number }>(a), { ok: 1 });
  });
});
