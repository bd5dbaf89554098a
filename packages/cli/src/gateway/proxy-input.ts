/**
 * PROXY protocol v2 *input* for one listener (`proxyProtocol: { from: [CIDR…] }`): a pre-TLS
 * reader for the verifier's acceptor. From a configured source the header is required (HAProxy's
 * proxy-protocol.txt §2: "the receiver MUST NOT try to guess whether the PROXY header is
 * present"), and its PROXY address becomes the connection's declared source; LOCAL (a balancer's
 * own health check) is accepted and counts as the balancer. From any other source a PROXY header
 * is refused with its own code, so an attacker who reaches the listener directly cannot choose
 * the address the audit, the identity headers and the per-source limits see. The header read is
 * bounded by the acceptor's first-byte deadline (`clientHelloTimeoutMs`) and PP2_MAX_BODY_BYTES.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { PreTlsReader } from '@ratls/verifier';
import { decodeProxyV2, PROXY_ERRORS, signatureState } from './forward/proxy-protocol.js';

/** `::ffff:a.b.c.d` is the IPv4 peer a dual-stack listener reports. */
function plainIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? (m[1] as string) : ip;
}

/**
 * Parses one CIDR (`10.0.0.0/8`, `::1/128`) or bare address; undefined when malformed.
 * @example parseCidr('10.0.0.0/8') // { net: '10.0.0.0', prefix: 8, type: 'ipv4' }
 */
export function parseCidr(s: string): { net: string; prefix: number; type: 'ipv4' | 'ipv6' } | undefined {
  const m = /^([0-9A-Fa-f:.]+)(?:\/(\d{1,3}))?$/.exec(s.trim());
  if (!m) return undefined;
  const net = m[1] as string;
  const type = isIPv4(net) ? 'ipv4' : isIPv6(net) ? 'ipv6' : undefined;
  if (!type) return undefined;
  const max = type === 'ipv4' ? 32 : 128;
  const prefix = m[2] === undefined ? max : Number(m[2]);
  if (prefix > max) return undefined;
  return { net, prefix, type };
}

/**
 * A predicate for "this TCP peer is one of the configured balancers".
 * @example trustedSources(['127.0.0.1/32'])('::ffff:127.0.0.1') // true
 */
export function trustedSources(from: readonly string[]): (ip: string | undefined) => boolean {
  const list = new BlockList();
  for (const c of from) {
    const p = parseCidr(c);
    if (!p) throw new TypeError(`not a CIDR: ${c}`);
    list.addSubnet(p.net, p.prefix, p.type);
  }
  return (ip) => {
    if (!ip) return false;
    const a = plainIp(ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip);
    if (isIPv4(a)) return list.check(a, 'ipv4');
    if (isIPv6(a)) return list.check(a, 'ipv6');
    return false;
  };
}

/**
 * The reader for a listener that sits behind balancers at `from`.
 * @example
 * createServer({ key, cert, attestation: { verifier, preTlsReaders: [proxyProtocolReader(['10.0.0.0/8'])] } });
 */
export function proxyProtocolReader(from: readonly string[]): PreTlsReader {
  const trusted = trustedSources(from);
  return {
    name: 'proxy-v2',
    declaresSource: (ip) => trusted(ip),
    read(bytes, peer) {
      if (!trusted(peer?.ip)) {
        // Not a balancer: anything but a PROXY signature goes on to the TLS check untouched.
        const s = signatureState(bytes);
        if (s === 'prefix') return { kind: 'more' };
        if (s === 'mismatch') return { kind: 'handoff', consumed: 0 };
        return {
          kind: 'refuse',
          code: PROXY_ERRORS.UNTRUSTED,
          message: `PROXY v2 header from ${peer?.ip ?? 'an unknown peer'}, which is not a configured balancer`,
        };
      }
      const d = decodeProxyV2(bytes);
      if (d.kind === 'more') return d;
      if (d.kind === 'invalid')
        return { kind: 'refuse', code: d.code, message: `PROXY v2 from ${peer?.ip}: ${d.message}` };
      if (d.header.command === 'local') return { kind: 'handoff', consumed: d.consumed };
      return { kind: 'handoff', consumed: d.consumed, source: { ip: d.header.src.ip, port: d.header.src.port } };
    },
  };
}
