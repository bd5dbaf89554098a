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

/** Signature(12) + ver/cmd(1) + fam/proto(1) + length(2): proxy-protocol.txt §2.2. */
export const PP2_HEADER_BYTES = 16;
/** §2.2, 13th byte: the high nibble is the version and "must always be 0x2". */
const PP2_VERSION_2 = 0x2;
/** §2.2, low nibble of the 13th byte: LOCAL (0x0, the balancer's own health check) or PROXY (0x1). */
const PP2_CMD_LOCAL = 0x0;
const PP2_CMD_PROXY = 0x1;
/** §2.2, 14th byte: address block sizes for TCP over IPv4 (4+4+2+2) and IPv6 (16+16+2+2). */
const PP2_ADDR_BYTES_TCP4 = 12;
const PP2_ADDR_BYTES_TCP6 = 36;
/** §2.2.1: type(1) + length(2) in front of every TLV value. */
const PP2_TLV_HEAD_BYTES = 3;
/**
 * Largest address-plus-TLV block accepted. The format allows 65535 bytes; a balancer sends tens
 * (HAProxy's `send-proxy-v2` with SSL and unique-id TLVs stays well under 1 KiB), so anything
 * near the format's limit is refused rather than buffered.
 */
export const PP2_MAX_BODY_BYTES = 4096;
/** TLVs accepted in one header (HAProxy defines fewer than 16 types). */
export const PP2_MAX_TLVS = 64;

/** One TLV from a received header (§2.2.1); the value is a view into the received bytes. */
export interface ProxyTlv {
  type: number;
  value: Uint8Array;
}

/** A received PROXY v2 header: a relayed connection's endpoints, or the balancer's own (LOCAL). */
export type ProxyV2Header =
  | { command: 'local'; tlvs: ProxyTlv[] }
  | {
      command: 'proxy';
      family: 'tcp4' | 'tcp6';
      src: { ip: string; port: number };
      dst: { ip: string; port: number };
      tlvs: ProxyTlv[];
    };

export type ProxyV2Decoded =
  | { kind: 'header'; header: ProxyV2Header; consumed: number }
  | { kind: 'more' }
  | { kind: 'invalid'; code: ProxyV2ErrorCode; message: string };

/** Stable codes for a refused PROXY v2 header (registered in @ratls/evidence error-codes.ts). */
export const PROXY_ERRORS = {
  SIGNATURE: 'ERR_PROXY_SIGNATURE',
  VERSION: 'ERR_PROXY_VERSION',
  COMMAND: 'ERR_PROXY_COMMAND',
  FAMILY: 'ERR_PROXY_FAMILY',
  LENGTH: 'ERR_PROXY_LENGTH',
  TLV: 'ERR_PROXY_TLV',
  UNTRUSTED: 'ERR_PROXY_UNTRUSTED_SOURCE',
} as const;
export type ProxyV2ErrorCode = (typeof PROXY_ERRORS)[keyof typeof PROXY_ERRORS];

const invalid = (code: ProxyV2ErrorCode, message: string): ProxyV2Decoded => ({ kind: 'invalid', code, message });

/**
 * How `bytes` relate to the signature: a strict prefix of it (wait), all of it, or something else.
 * @example signatureState(PP2_SIGNATURE.subarray(0, 5)) // 'prefix'
 */
export function signatureState(bytes: Uint8Array): 'prefix' | 'match' | 'mismatch' {
  const n = Math.min(bytes.length, PP2_SIGNATURE.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== PP2_SIGNATURE[i]) return 'mismatch';
  return n === PP2_SIGNATURE.length ? 'match' : 'prefix';
}

function formatIpv6(b: Uint8Array): string {
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(((b[i] as number) << 8) | (b[i + 1] as number));
  // RFC 4291 §2.5.5.2: an IPv4-mapped address is written with its dotted quad (Node's own form).
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  // RFC 5952 §4.2: compress the longest run (two or more) of zero groups, the first if tied.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function readTlvs(body: Uint8Array, from: number): ProxyTlv[] | ProxyV2Decoded {
  const tlvs: ProxyTlv[] = [];
  let off = from;
  while (off < body.length) {
    if (tlvs.length >= PP2_MAX_TLVS) return invalid(PROXY_ERRORS.TLV, `more than ${PP2_MAX_TLVS} TLVs`);
    if (off + PP2_TLV_HEAD_BYTES > body.length)
      return invalid(PROXY_ERRORS.TLV, `TLV header at offset ${off} runs past the header's length`);
    const type = body[off] as number;
    const len = ((body[off + 1] as number) << 8) | (body[off + 2] as number);
    const start = off + PP2_TLV_HEAD_BYTES;
    // §2.2.1: a TLV must fit inside the length the fixed header announced; one that does not is
    // a framing error, never a read into the bytes that follow (the TLS handshake).
    if (start + len > body.length)
      return invalid(PROXY_ERRORS.TLV, `TLV 0x${type.toString(16)} of ${len} bytes runs past the header's length`);
    tlvs.push({ type, value: body.subarray(start, start + len) });
    off = start + len;
  }
  return tlvs;
}

/**
 * Decodes a PROXY protocol v2 header at the start of `bytes` (proxy-protocol.txt §2.2), strictly:
 * the signature, version 2, the LOCAL or PROXY command, TCP over IPv4 or IPv6 for PROXY, an
 * announced length within PP2_MAX_BODY_BYTES that holds the address block, and TLVs that exactly
 * fill the rest. `more` while the header is incomplete; never throws.
 * @example
 * const d = decodeProxyV2(encodeProxyV2({ srcIp: '10.0.0.7', srcPort: 5000, dstIp: '10.0.0.1', dstPort: 443 }, undefined));
 * d.kind === 'header' && d.header.command === 'proxy' && d.header.src.ip; // '10.0.0.7'
 */
export function decodeProxyV2(bytes: Uint8Array): ProxyV2Decoded {
  const sig = signatureState(bytes);
  if (sig === 'mismatch') return invalid(PROXY_ERRORS.SIGNATURE, 'no PROXY protocol v2 signature');
  if (bytes.length < PP2_HEADER_BYTES) return { kind: 'more' };
  const verCmd = bytes[12] as number;
  if (verCmd >> 4 !== PP2_VERSION_2) return invalid(PROXY_ERRORS.VERSION, `version ${verCmd >> 4}, only 2 is spoken`);
  const cmd = verCmd & 0x0f;
  if (cmd !== PP2_CMD_LOCAL && cmd !== PP2_CMD_PROXY)
    return invalid(PROXY_ERRORS.COMMAND, `command 0x${cmd.toString(16)} (only LOCAL and PROXY exist)`);
  const fam = bytes[13] as number;
  const length = ((bytes[14] as number) << 8) | (bytes[15] as number);
  if (length > PP2_MAX_BODY_BYTES)
    return invalid(PROXY_ERRORS.LENGTH, `announced length ${length} above ${PP2_MAX_BODY_BYTES}`);
  if (bytes.length < PP2_HEADER_BYTES + length) return { kind: 'more' };
  const body = bytes.subarray(PP2_HEADER_BYTES, PP2_HEADER_BYTES + length);
  const consumed = PP2_HEADER_BYTES + length;
  if (cmd === PP2_CMD_LOCAL) {
    // §2.2: for LOCAL "the receiver must accept this connection as valid and must use the real
    // connection endpoints and discard the protocol block including the family".
    return { kind: 'header', header: { command: 'local', tlvs: [] }, consumed };
  }
  let addrBytes: number;
  if (fam === PP2_FAM_TCP4) addrBytes = PP2_ADDR_BYTES_TCP4;
  else if (fam === PP2_FAM_TCP6) addrBytes = PP2_ADDR_BYTES_TCP6;
  // UNSPEC, UDP and UNIX carry no TCP client address for the audit, the headers and the limits.
  else
    return invalid(PROXY_ERRORS.FAMILY, `family/protocol 0x${fam.toString(16).padStart(2, '0')} is not TCP4 or TCP6`);
  if (length < addrBytes)
    return invalid(PROXY_ERRORS.LENGTH, `length ${length} cannot hold the ${addrBytes}-byte address block`);
  const ports = (off: number) => [
    ((body[off] as number) << 8) | (body[off + 1] as number),
    ((body[off + 2] as number) << 8) | (body[off + 3] as number),
  ];
  let src: string;
  let dst: string;
  let portOff: number;
  if (fam === PP2_FAM_TCP4) {
    src = [...body.subarray(0, 4)].join('.');
    dst = [...body.subarray(4, 8)].join('.');
    portOff = 8;
  } else {
    src = formatIpv6(body.subarray(0, 16));
    dst = formatIpv6(body.subarray(16, 32));
    portOff = 32;
  }
  const [srcPort, dstPort] = ports(portOff) as [number, number];
  const tlvs = readTlvs(body, addrBytes);
  if (!Array.isArray(tlvs)) return tlvs;
  return {
    kind: 'header',
    header: {
      command: 'proxy',
      family: fam === PP2_FAM_TCP4 ? 'tcp4' : 'tcp6',
      src: { ip: src, port: srcPort },
      dst: { ip: dst, port: dstPort },
      tlvs,
    },
    consumed,
  };
}
