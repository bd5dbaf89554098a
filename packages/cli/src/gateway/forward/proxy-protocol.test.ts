import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeProxyV2, PP2_FAM_TCP4, PP2_FAM_TCP6, PP2_FAM_UNSPEC, PP2_SIGNATURE } from './proxy-protocol.js';

const FACTS = { identity: 'payments', tee: 'sgx', measurement: 'aa'.repeat(32), tcbStatus: 'UpToDate' };

describe('PROXY v2 header', () => {
  it('encodes TCP4 (including IPv4-mapped IPv6) with ports and TLVs', () => {
    const h = encodeProxyV2(
      { srcIp: '::ffff:10.0.0.7', srcPort: 51234, dstIp: '127.0.0.1', dstPort: 6380 },
      FACTS,
      'TLSv1.3',
    );
    assert.ok(h.subarray(0, 12).equals(PP2_SIGNATURE));
    assert.equal(h[12], 0x21);
    assert.equal(h[13], PP2_FAM_TCP4);
    assert.equal(h.readUInt16BE(14), h.length - 16);
    assert.deepEqual([...h.subarray(16, 24)], [10, 0, 0, 7, 127, 0, 0, 1]);
    assert.equal(h.readUInt16BE(24), 51234);
    assert.equal(h.readUInt16BE(26), 6380);
    assert.equal(h[28], 0x20, 'first TLV is PP2_TYPE_SSL');
  });

  it('encodes TCP6 with expanded addresses', () => {
    const h = encodeProxyV2({ srcIp: '2001:db8::1', srcPort: 1, dstIp: '::1', dstPort: 2 }, undefined);
    assert.equal(h[13], PP2_FAM_TCP6);
    assert.equal(h.readUInt16BE(14), 36);
    assert.equal(h.subarray(16, 32).toString('hex'), '20010db8000000000000000000000001');
    assert.equal(h.subarray(32, 48).toString('hex'), '00000000000000000000000000000001');
    assert.equal(h.readUInt16BE(48), 1);
    assert.equal(h.readUInt16BE(50), 2);
  });

  it('falls back to UNSPEC when the families differ or are unknown', () => {
    const h = encodeProxyV2({ srcIp: '10.0.0.1', dstIp: '::1' }, undefined);
    assert.equal(h[13], PP2_FAM_UNSPEC);
    assert.equal(h.length, 16);
  });
});
