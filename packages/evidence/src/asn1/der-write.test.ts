import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RatlsError } from '../errors.js';
import { derContent, readDer, TAG_SEQUENCE } from './der.js';
import { DER_WRITE_MAX_BYTES, derUtf8String, derWrite } from './der-write.js';

test('derWrite output is read back by the one reader (minimal lengths at 127/128/255/256)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (body) => {
      const der = derWrite(0x04, body);
      const n = readDer(der, 0x04);
      assert.deepEqual(derContent(der, n), body);
    }),
  );
  for (const n of [127, 128, 255, 256])
    assert.equal(readDer(derWrite(0x04, new Uint8Array(n))).end - 0, derWrite(0x04, new Uint8Array(n)).length);
});

test('derWrite concatenates parts; derUtf8String is tag 12', () => {
  assert.deepEqual(derWrite(TAG_SEQUENCE, Uint8Array.of(1), Uint8Array.of(2, 3)), Uint8Array.of(0x30, 3, 1, 2, 3));
  assert.deepEqual(derUtf8String('sgx'), Uint8Array.of(0x0c, 3, 0x73, 0x67, 0x78));
});

test('oversized values and multi-byte tags are refused with ERR_DER_MALFORMED', () => {
  for (const f of [() => derWrite(0x04, new Uint8Array(DER_WRITE_MAX_BYTES + 1)), () => derWrite(0x1f)]) {
    assert.throws(f, (e) => e instanceof RatlsError && e.code === 'ERR_DER_MALFORMED');
  }
});
