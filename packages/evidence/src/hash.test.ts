import assert from 'node:assert/strict';
import { test } from 'node:test';
import { toHex } from './bytes.js';
import { sha256, sha256Hex } from './hash.js';

// FIPS 180-4 example "abc" (NIST CSRC SHA-256 example values).
const ABC = new TextEncoder().encode('abc');
const ABC_SHA256 = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

test('sha256Hex: the FIPS 180-4 "abc" digest, lower-case hex', () => {
  assert.equal(sha256Hex(ABC), ABC_SHA256);
});

test('sha256 and sha256Hex name the same bytes', () => {
  assert.equal(toHex(sha256(ABC)), sha256Hex(ABC));
  assert.equal(sha256(ABC).length, 32);
});

test('sha256Hex hashes only the view, not the whole underlying buffer', () => {
  const backing = new Uint8Array([0xff, ...ABC, 0xff]);
  assert.equal(sha256Hex(backing.subarray(1, 4)), ABC_SHA256);
});
