import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { forwardRequestHeaders, forwardResponseHeaders } from './http-forward.js';
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

describe('HTTP header forwarding', () => {
  it('removes every client x-ratls-* copy in any case, hop-by-hop and Connection-named headers', () => {
    const raw = [
      'Host',
      'api',
      'X-RATLS-IDENTITY',
      'admin',
      'x-ratls-identity',
      'root',
      'X-Ratls-Tee',
      'nitro',
      'x-ratls-other',
      '1',
      'Connection',
      'keep-alive, X-Secret-Hop',
      'X-Secret-Hop',
      'drop me',
      'Keep-Alive',
      'timeout=5',
      'TE',
      'trailers',
      'Transfer-Encoding',
      'chunked',
      'Cookie',
      'a=1',
      'Cookie',
      'b=2',
      'X-Forwarded-For',
      '6.6.6.6',
      'Accept',
      'a',
      'accept',
      'b',
    ];
    const h = forwardRequestHeaders(raw, FACTS, '::ffff:10.1.2.3');
    assert.deepEqual(h, {
      host: 'api',
      cookie: 'a=1; b=2',
      accept: ['a', 'b'],
      'x-forwarded-for': '10.1.2.3',
      'x-forwarded-proto': 'https',
      'x-ratls-identity': 'payments',
      'x-ratls-tee': 'sgx',
      'x-ratls-measurement': 'aa'.repeat(32),
      'x-ratls-tcb-status': 'UpToDate',
    });
  });

  it('never lets a client-chosen x-ratls-* value through (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.stringMatching(/^[xX]-[rR][aA][tT][lL][sS]-[a-zA-Z-]{1,12}$/), fc.string({ maxLength: 20 })),
          { maxLength: 8 },
        ),
        (pairs) => {
          const h = forwardRequestHeaders(pairs.flat(), FACTS, undefined);
          for (const [k, v] of Object.entries(h)) {
            if (k.startsWith('x-ratls-')) assert.ok(Object.values(FACTS).includes(v as string), `${k}=${String(v)}`);
          }
        },
      ),
    );
  });

  it('drops hop-by-hop response headers and keeps repeated ones', () => {
    const h = forwardResponseHeaders([
      'Connection',
      'close',
      'Set-Cookie',
      'a',
      'set-cookie',
      'b',
      'Content-Type',
      'text/plain',
      'Transfer-Encoding',
      'chunked',
    ]);
    assert.deepEqual(h, { 'set-cookie': ['a', 'b'], 'content-type': 'text/plain' });
  });
});
