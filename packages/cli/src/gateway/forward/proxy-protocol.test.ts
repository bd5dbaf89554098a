import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeProxyV2,
  encodeProxyV2,
  PP2_FAM_TCP4,
  PP2_FAM_TCP6,
  PP2_FAM_UNSPEC,
  PP2_MAX_BODY_BYTES,
  PP2_MAX_TLVS,
  PP2_SIGNATURE,
  PROXY_ERRORS,
} from './proxy-protocol.js';

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

/** A header by hand: ver/cmd, family, and the bytes after the length. */
function header(verCmd: number, fam: number, body: Uint8Array, length = body.length): Buffer {
  const h = Buffer.alloc(16);
  PP2_SIGNATURE.copy(h, 0);
  h[12] = verCmd;
  h[13] = fam;
  h.writeUInt16BE(length, 14);
  return Buffer.concat([h, body]);
}
const TCP4_ADDR = Buffer.from([203, 0, 113, 9, 10, 0, 0, 1, 0xc3, 0x50, 0x01, 0xbb]);

describe('PROXY v2 header decoding (proxy-protocol.txt §2.2)', () => {
  it('decodes what encodeProxyV2 writes: TCP4, TCP6, and the TLVs', () => {
    const h = encodeProxyV2({ srcIp: '10.0.0.7', srcPort: 51234, dstIp: '10.0.0.1', dstPort: 443 }, FACTS, 'TLSv1.3');
    const d = decodeProxyV2(Buffer.concat([h, Buffer.from([0x16, 0x03])]));
    assert.equal(d.kind, 'header');
    if (d.kind !== 'header' || d.header.command !== 'proxy') return;
    assert.equal(d.consumed, h.length, 'the TLS bytes after the header are not consumed');
    assert.deepEqual(d.header.src, { ip: '10.0.0.7', port: 51234 });
    assert.deepEqual(d.header.dst, { ip: '10.0.0.1', port: 443 });
    assert.equal(Buffer.from(d.header.tlvs.find((t) => t.type === 0xe0)?.value ?? []).toString(), 'payments');
    const h6 = decodeProxyV2(
      encodeProxyV2({ srcIp: '2001:db8::1', srcPort: 1, dstIp: '::ffff:10.0.0.1', dstPort: 2 }, undefined),
    );
    // A v4-mapped destination with a v6 source: both are written as IPv6.
    assert.equal(h6.kind, 'header');
    if (h6.kind === 'header' && h6.header.command === 'proxy') {
      assert.equal(h6.header.family, 'tcp6');
      assert.equal(h6.header.src.ip, '2001:db8::1');
      assert.equal(h6.header.dst.ip, '::ffff:10.0.0.1');
    }
  });

  it('accepts LOCAL (health checks) with any family and discards its block', () => {
    const d = decodeProxyV2(header(0x20, 0x00, Buffer.alloc(0)));
    assert.deepEqual(d, { kind: 'header', header: { command: 'local', tlvs: [] }, consumed: 16 });
    const d2 = decodeProxyV2(header(0x20, 0x11, TCP4_ADDR));
    assert.equal(d2.kind === 'header' && d2.header.command, 'local');
  });

  it('truncation: every strict prefix of a valid header asks for more, never decodes or throws', () => {
    const h = encodeProxyV2({ srcIp: '10.0.0.7', srcPort: 1, dstIp: '10.0.0.1', dstPort: 2 }, FACTS, 'TLSv1.3');
    for (let n = 0; n < h.length; n++)
      assert.deepEqual(decodeProxyV2(h.subarray(0, n)), { kind: 'more' }, `prefix ${n}`);
  });

  it('bad signature: ERR_PROXY_SIGNATURE (including PROXY v1 text and a TLS hello)', () => {
    const bad = Buffer.from(PP2_SIGNATURE);
    bad[11] = 0x0b;
    assert.equal((decodeProxyV2(bad) as { code?: string }).code, PROXY_ERRORS.SIGNATURE);
    assert.equal(
      (decodeProxyV2(Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n')) as { code?: string }).code,
      'ERR_PROXY_SIGNATURE',
    );
    assert.equal((decodeProxyV2(Buffer.from([0x16, 0x03, 0x01])) as { code?: string }).code, 'ERR_PROXY_SIGNATURE');
  });

  it('bad version, command and family: each its own code', () => {
    assert.equal((decodeProxyV2(header(0x11, 0x11, TCP4_ADDR)) as { code?: string }).code, 'ERR_PROXY_VERSION');
    assert.equal((decodeProxyV2(header(0x31, 0x11, TCP4_ADDR)) as { code?: string }).code, 'ERR_PROXY_VERSION');
    assert.equal((decodeProxyV2(header(0x22, 0x11, TCP4_ADDR)) as { code?: string }).code, 'ERR_PROXY_COMMAND');
    assert.equal((decodeProxyV2(header(0x2f, 0x11, TCP4_ADDR)) as { code?: string }).code, 'ERR_PROXY_COMMAND');
    for (const fam of [0x00, 0x12, 0x22, 0x31, 0x32, 0x10, 0x41]) {
      assert.equal(
        (decodeProxyV2(header(0x21, fam, Buffer.alloc(216))) as { code?: string }).code,
        'ERR_PROXY_FAMILY',
        `family 0x${fam.toString(16)}`,
      );
    }
  });

  it('lengths: above the bound refused before buffering; too short for the address block refused', () => {
    const big = decodeProxyV2(header(0x21, 0x11, Buffer.alloc(0), PP2_MAX_BODY_BYTES + 1));
    assert.equal((big as { code?: string }).code, 'ERR_PROXY_LENGTH', 'refused from the 16 fixed bytes alone');
    assert.equal(
      (decodeProxyV2(header(0x21, 0x11, TCP4_ADDR.subarray(0, 11))) as { code?: string }).code,
      'ERR_PROXY_LENGTH',
    );
    assert.equal((decodeProxyV2(header(0x21, 0x21, Buffer.alloc(35))) as { code?: string }).code, 'ERR_PROXY_LENGTH');
  });

  it('TLVs bounded: one running past the header, a cut TLV header, and too many are ERR_PROXY_TLV', () => {
    const past = Buffer.concat([TCP4_ADDR, Buffer.from([0x04, 0x00, 0x05, 0x00])]);
    assert.equal((decodeProxyV2(header(0x21, 0x11, past)) as { code?: string }).code, PROXY_ERRORS.TLV);
    const cut = Buffer.concat([TCP4_ADDR, Buffer.from([0x04, 0x00])]);
    assert.equal((decodeProxyV2(header(0x21, 0x11, cut)) as { code?: string }).code, 'ERR_PROXY_TLV');
    const many = Buffer.concat([TCP4_ADDR, Buffer.alloc(3 * (PP2_MAX_TLVS + 1))]);
    assert.equal((decodeProxyV2(header(0x21, 0x11, many)) as { code?: string }).code, 'ERR_PROXY_TLV');
    const ok = Buffer.concat([TCP4_ADDR, Buffer.alloc(3 * PP2_MAX_TLVS)]);
    assert.equal(decodeProxyV2(header(0x21, 0x11, ok)).kind, 'header', 'exactly the bound is fine');
  });

  it('arbitrary bytes after the signature never throw and never decode past their length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (tail) => {
        const d = decodeProxyV2(Buffer.concat([PP2_SIGNATURE, tail]));
        if (d.kind === 'header') assert.ok(d.consumed <= 12 + tail.length);
        else if (d.kind === 'invalid') assert.match(d.code, /^ERR_PROXY_/);
      }),
      { numRuns: 2000 },
    );
  });
});
