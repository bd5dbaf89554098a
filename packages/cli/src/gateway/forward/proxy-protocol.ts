/**
 * PROXY protocol version 2 header (HAProxy's proxy-protocol.txt, section 2.2) so a TCP backend
 * learns the real client address and the attestation facts. Layout: 12-byte signature, ver/cmd
 * 0x21 (v2, PROXY), family 0x11 (TCP4) or 0x21 (TCP6), 2-byte length, addresses, then TLVs.
 *
 * TLVs written:
 * - 0x20 PP2_TYPE_SSL: client flags (PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN), verify = 0 (the
 *   attestation decision accepted the certificate), sub-TLV 0x21 PP2_SUBTYPE_SSL_VERSION.
 * - 0xE0 identity (policy identity name, UTF-8)       0xE1 TEE (sgx, tdx, sev-snp, nitro)
 * - 0xE2 measurement (lower-case hex, ASCII)           0xE3 TCB status (ASCII; omitted if none)
 * 0xE0-0xEF is the range the spec reserves for application-specific data (PP2_TYPE_MIN_CUSTOM).
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { PeerFacts } from './facts.js';

export const PP2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
export const PP2_VERSION_PROXY = 0x21;
export const PP2_VERSION_LOCAL = 0x20;
export const PP2_FAM_TCP4 = 0x11;
export const PP2_FAM_TCP6 = 0x21;
export const PP2_FAM_UNSPEC = 0x00;
export const PP2_TYPE_SSL = 0x20;
export const PP2_SUBTYPE_SSL_VERSION = 0x21;
export const PP2_CLIENT_SSL = 0x01;
export const PP2_CLIENT_CERT_CONN = 0x02;
export const PP2_TYPE_RATLS_IDENTITY = 0xe0;
export const PP2_TYPE_RATLS_TEE = 0xe1;
export const PP2_TYPE_RATLS_MEASUREMENT = 0xe2;
export const PP2_TYPE_RATLS_TCB_STATUS = 0xe3;

export interface ProxyEndpoints {
  srcIp?: string;
  srcPort?: number;
  dstIp?: string;
  dstPort?: number;
}

function tlv(type: number, value: Uint8Array): Buffer {
  const h = Buffer.alloc(3);
  h[0] = type;
  h.writeUInt16BE(value.byteLength, 1);
  return Buffer.concat([h, value]);
}

/** `::ffff:a.b.c.d` (Node's dual-stack form) counts as IPv4. */
function v4(ip: string | undefined): string | undefined {
  if (!ip) return undefined;
  if (isIPv4(ip)) return ip;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m?.[1];
}

function ipv6Bytes(ip: string): Buffer {
  // Expand "::" then write eight 16-bit groups; an embedded dotted quad becomes the last two.
  let s = ip;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (quad) {
    const [a, b, c, d] = (quad[1] as string).split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, -(quad[1] as string).length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

/**
 * @example
 * const header = encodeProxyV2({ srcIp: '10.0.0.7', srcPort: 51234, dstIp: '10.0.0.1', dstPort: 6380 }, facts, 'TLSv1.3')
 * backend.write(header)
 */
export function encodeProxyV2(ends: ProxyEndpoints, facts: PeerFacts | undefined, tlsVersion?: string): Buffer {
  let fam = PP2_FAM_UNSPEC;
  let addr = Buffer.alloc(0);
  const s4 = v4(ends.srcIp);
  const d4 = v4(ends.dstIp);
  const ports = (b: Buffer, off: number) => {
    b.writeUInt16BE(ends.srcPort ?? 0, off);
    b.writeUInt16BE(ends.dstPort ?? 0, off + 2);
  };
  if (s4 && d4) {
    fam = PP2_FAM_TCP4;
    addr = Buffer.alloc(12);
    Buffer.from(s4.split('.').map(Number)).copy(addr, 0);
    Buffer.from(d4.split('.').map(Number)).copy(addr, 4);
    ports(addr, 8);
  } else if (ends.srcIp && ends.dstIp && isIPv6(ends.srcIp) && isIPv6(ends.dstIp)) {
    fam = PP2_FAM_TCP6;
    addr = Buffer.alloc(36);
    ipv6Bytes(ends.srcIp).copy(addr, 0);
    ipv6Bytes(ends.dstIp).copy(addr, 16);
    ports(addr, 32);
  }
  const tlvs: Buffer[] = [];
  if (facts) {
    const ssl = Buffer.alloc(5);
    ssl[0] = PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN;
    ssl.writeUInt32BE(0, 1);
    const sub = tlsVersion ? tlv(PP2_SUBTYPE_SSL_VERSION, Buffer.from(tlsVersion, 'ascii')) : Buffer.alloc(0);
    tlvs.push(tlv(PP2_TYPE_SSL, Buffer.concat([ssl, sub])));
    tlvs.push(tlv(PP2_TYPE_RATLS_IDENTITY, Buffer.from(facts.identity, 'utf8')));
    tlvs.push(tlv(PP2_TYPE_RATLS_TEE, Buffer.from(facts.tee, 'ascii')));
    tlvs.push(tlv(PP2_TYPE_RATLS_MEASUREMENT, Buffer.from(facts.measurement, 'ascii')));
    if (facts.tcbStatus) tlvs.push(tlv(PP2_TYPE_RATLS_TCB_STATUS, Buffer.from(facts.tcbStatus, 'ascii')));
  }
  const body = Buffer.concat([addr, ...tlvs]);
  const head = Buffer.alloc(16);
  PP2_SIGNATURE.copy(head, 0);
  head[12] = PP2_VERSION_PROXY;
  head[13] = fam;
  head.writeUInt16BE(body.length, 14);
  return Buffer.concat([head, body]);
}
