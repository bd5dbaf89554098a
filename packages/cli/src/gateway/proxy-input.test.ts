import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeProxyV2 } from './forward/proxy-protocol.js';
import { parseCidr, proxyProtocolReader, trustedSources } from './proxy-input.js';

const BALANCER = { ip: '::ffff:127.0.0.1', port: 40000 };
const STRANGER = { ip: '127.0.0.2', port: 40001 };
const HELLO = Buffer.from([0x16, 0x03, 0x01, 0x00, 0x20]);
const relayed = encodeProxyV2({ srcIp: '203.0.113.9', srcPort: 50123, dstIp: '10.0.0.1', dstPort: 443 }, undefined);

describe('PROXY v2 input reader', () => {
  const reader = proxyProtocolReader(['127.0.0.1/32', '2001:db8::/32']);

  it('from a configured balancer: hands off with the declared source and consumes only the header', () => {
    assert.equal(reader.declaresSource?.(BALANCER.ip), true);
    const v = reader.read(Buffer.concat([relayed, HELLO]), BALANCER);
    assert.deepEqual(v, { kind: 'handoff', consumed: relayed.length, source: { ip: '203.0.113.9', port: 50123 } });
  });

  it('from a configured balancer: the header is required (a bare TLS hello is ERR_PROXY_SIGNATURE)', () => {
    const v = reader.read(HELLO, BALANCER);
    assert.equal(v.kind === 'refuse' && v.code, 'ERR_PROXY_SIGNATURE');
  });

  it('from a configured balancer: LOCAL hands off without a source (counted as the balancer)', () => {
    const local = Buffer.from(relayed.subarray(0, 16));
    local[12] = 0x20;
    local[13] = 0x00;
    local.writeUInt16BE(0, 14);
    assert.deepEqual(reader.read(Buffer.concat([local, HELLO]), BALANCER), { kind: 'handoff', consumed: 16 });
  });

  it('from a configured balancer: an incomplete header waits (the first-byte deadline bounds it)', () => {
    assert.deepEqual(reader.read(relayed.subarray(0, 20), BALANCER), { kind: 'more' });
  });

  it('from any other address: a PROXY header is refused with ERR_PROXY_UNTRUSTED_SOURCE', () => {
    assert.equal(reader.declaresSource?.(STRANGER.ip), false);
    const v = reader.read(Buffer.concat([relayed, HELLO]), STRANGER);
    assert.equal(v.kind === 'refuse' && v.code, 'ERR_PROXY_UNTRUSTED_SOURCE');
    assert.deepEqual(reader.read(relayed.subarray(0, 6), STRANGER), { kind: 'more' }, 'a prefix waits for the rest');
  });

  it('from any other address: TLS goes straight on, untouched', () => {
    assert.deepEqual(reader.read(HELLO, STRANGER), { kind: 'handoff', consumed: 0 });
    assert.deepEqual(reader.read(Buffer.from('GET /'), STRANGER), { kind: 'handoff', consumed: 0 });
  });

  it('a peer without an address is never a balancer', () => {
    assert.equal(reader.read(relayed, {}).kind, 'refuse');
  });
});

describe('trusted balancer sources', () => {
  it('matches CIDRs for IPv4 (also IPv4-mapped) and IPv6; bare addresses are /32 or /128', () => {
    const t = trustedSources(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32']);
    assert.equal(t('10.200.1.1'), true);
    assert.equal(t('::ffff:10.1.1.1'), true);
    assert.equal(t('11.0.0.1'), false);
    assert.equal(t('192.0.2.7'), true);
    assert.equal(t('192.0.2.8'), false);
    assert.equal(t('2001:db8:ffff::1'), true);
    assert.equal(t('2001:db9::1'), false);
    assert.equal(t(undefined), false);
    assert.equal(t('not-an-ip'), false);
  });

  it('refuses malformed CIDRs', () => {
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0/8', 'example.com', '10.0.0.0/', ''])
      assert.equal(parseCidr(bad), undefined, bad);
    assert.throws(() => trustedSources(['10.0.0.0/33']), /not a CIDR/);
  });
});
