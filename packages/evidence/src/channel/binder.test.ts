import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { RatlsError } from '../errors.js';
import { CHANNEL_REPORT_DATA_TAG, channelBinder, channelReportData, suiteHash } from './binder.js';

describe('channel binder (draft-fossati-seat-expat-04 §5.1)', () => {
  test('Hash(public_key || exported) with the suite hash; SHA-384 for TLS_AES_256_GCM_SHA384', () => {
    const spki = new Uint8Array([1, 2, 3]);
    const exported = new Uint8Array(32).fill(5);
    assert.equal(suiteHash('TLS_AES_256_GCM_SHA384'), 'sha384');
    assert.equal(suiteHash('TLS_CHACHA20_POLY1305_SHA256'), 'sha256');
    const b = channelBinder('sha384', spki, exported);
    assert.equal(b.byteLength, 48);
    assert.deepEqual(b, new Uint8Array(createHash('sha384').update(spki).update(exported).digest()));
    assert.equal(channelBinder('sha256', spki, exported).byteLength, 32);
  });

  test('report data layout: binder, zeros to 48, tag in 48..63', () => {
    const rd = channelReportData(new Uint8Array(48).fill(0xaa));
    assert.equal(rd.byteLength, 64);
    assert.deepEqual(rd.subarray(0, 48), new Uint8Array(48).fill(0xaa));
    assert.equal(Buffer.from(rd.subarray(48)).toString('ascii'), CHANNEL_REPORT_DATA_TAG);
    const rd32 = channelReportData(new Uint8Array(32).fill(1));
    assert.deepEqual(rd32.subarray(32, 48), new Uint8Array(16));
  });

  test('refusals: a TLS 1.2 suite name, a short exporter value, a binder of the wrong size', () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
        return 'none';
      } catch (e) {
        return e instanceof RatlsError ? e.code : 'untyped';
      }
    };
    assert.equal(
      codeOf(() => suiteHash('ECDHE-RSA-AES128-GCM-SHA256')),
      'ERR_CHANNEL_UNSUPPORTED',
    );
    assert.equal(
      codeOf(() => channelBinder('sha384', new Uint8Array(1), new Uint8Array(16))),
      'ERR_CHANNEL_UNSUPPORTED',
    );
    assert.equal(
      codeOf(() => channelReportData(new Uint8Array(64))),
      'ERR_CHANNEL_UNSUPPORTED',
    );
  });
});
