import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TLS_ERRORS } from '../decide/errors.js';
import { tlsRecordReader } from './pre-tls.js';

const read = (...b: number[]) => tlsRecordReader.read(Uint8Array.from(b));

describe('tlsRecordReader', () => {
  test('hands off on a complete handshake record header, passing every byte on', () => {
    assert.deepEqual(read(0x16, 0x03, 0x01, 0x02, 0x00), { kind: 'handoff', consumed: 0 });
    assert.deepEqual(read(0x16, 0x03, 0x03, 0x40, 0x00, 0x01), { kind: 'handoff', consumed: 0 });
  });

  test('asks for more until the five header bytes are there', () => {
    assert.deepEqual(read(), { kind: 'more' });
    assert.deepEqual(read(0x16), { kind: 'more' });
    assert.deepEqual(read(0x16, 0x03, 0x01, 0x02), { kind: 'more' });
  });

  test('refuses what cannot start a TLS handshake as soon as it shows', () => {
    for (const bad of [
      [0x47], // 'G' of an HTTP request
      [0x80, 0x2e], // SSLv2 ClientHello
      [0x17, 0x03, 0x03, 0x00, 0x10], // application data first
      [0x16, 0x02], // record version major 2
      [0x16, 0x03, 0x01, 0x00, 0x00], // empty record
      [0x16, 0x03, 0x01, 0x40, 0x01], // 2^14 + 1 (RFC 8446 §5.1)
    ]) {
      const v = read(...bad);
      assert.equal(v.kind, 'refuse', `${bad}`);
      assert.equal(v.kind === 'refuse' && v.code, TLS_ERRORS.NOT_TLS_HANDSHAKE);
    }
  });
});
