/**
 * The ALPN protocols a TLS ClientHello offers, read from the first TLS record before the TLS engine
 * sees it. PostgreSQL 17 accepts a direct TLS connection (no SSLRequest) only when the client
 * offers ALPN `postgresql` (protocol.sgml "direct SSL"), so the pre-TLS reader needs the list.
 * Layouts: RFC 8446 §5.1 (record), §4 (handshake header), §4.1.2 (ClientHello), §4.2
 * (extensions); RFC 7301 §3.1 (ALPN, extension type 16).
 */

const RECORD_HEADER = 5;
const HANDSHAKE_HEADER = 4;
const HANDSHAKE_CLIENT_HELLO = 1;
const EXTENSION_ALPN = 16;
/** legacy_version(2) + random(32). */
const HELLO_FIXED = 2 + 32;

export type ClientHelloAlpn =
  | { kind: 'more' }
  | { kind: 'alpn'; protocols: string[] }
  | { kind: 'malformed'; why: string };

/**
 * Reads the ALPN list of the ClientHello at the start of `b` (a complete TLS record is needed; a
 * ClientHello split over several records is refused as malformed, which no libpq does). An
 * absent extension is an empty list.
 * @example clientHelloAlpn(firstRecord); // { kind: 'alpn', protocols: ['postgresql'] }
 */
export function clientHelloAlpn(b: Uint8Array): ClientHelloAlpn {
  if (b.length < RECORD_HEADER) return { kind: 'more' };
  const recordLength = ((b[3] as number) << 8) | (b[4] as number);
  if (b.length < RECORD_HEADER + recordLength) return { kind: 'more' };
  const rec = b.subarray(RECORD_HEADER, RECORD_HEADER + recordLength);
  if (rec.length < HANDSHAKE_HEADER || rec[0] !== HANDSHAKE_CLIENT_HELLO)
    return { kind: 'malformed', why: 'first handshake message is not a ClientHello' };
  const helloLength = ((rec[1] as number) << 16) | ((rec[2] as number) << 8) | (rec[3] as number);
  if (helloLength > rec.length - HANDSHAKE_HEADER)
    return { kind: 'malformed', why: 'ClientHello does not fit in the first TLS record' };
  const h = rec.subarray(HANDSHAKE_HEADER, HANDSHAKE_HEADER + helloLength);
  let off = HELLO_FIXED;
  const need = (n: number) => off + n <= h.length;
  const u8 = () => h[off] as number;
  const u16 = () => ((h[off] as number) << 8) | (h[off + 1] as number);
  if (!need(1)) return { kind: 'malformed', why: 'ClientHello truncated before session_id' };
  off += 1 + u8();
  if (!need(2)) return { kind: 'malformed', why: 'ClientHello truncated before cipher_suites' };
  off += 2 + u16();
  if (!need(1)) return { kind: 'malformed', why: 'ClientHello truncated before compression_methods' };
  off += 1 + u8();
  if (off === h.length) return { kind: 'alpn', protocols: [] };
  if (!need(2)) return { kind: 'malformed', why: 'ClientHello truncated in the extensions length' };
  const extEnd = off + 2 + u16();
  off += 2;
  if (extEnd !== h.length) return { kind: 'malformed', why: 'ClientHello extensions do not end with the message' };
  let protocols: string[] | undefined;
  while (off < extEnd) {
    if (!need(4)) return { kind: 'malformed', why: 'extension header truncated' };
    const type = u16();
    off += 2;
    const len = u16();
    off += 2;
    if (!need(len)) return { kind: 'malformed', why: 'extension body truncated' };
    if (type === EXTENSION_ALPN) {
      // RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type".
      if (protocols) return { kind: 'malformed', why: 'ALPN extension repeated' };
      const alpn = parseAlpn(h.subarray(off, off + len));
      if (!alpn) return { kind: 'malformed', why: 'ALPN extension malformed' };
      protocols = alpn;
    }
    off += len;
  }
  return { kind: 'alpn', protocols: protocols ?? [] };
}

/** RFC 7301 §3.1: ProtocolName protocol_name_list<2..2^16-1>, each ProtocolName<1..2^8-1>. */
function parseAlpn(e: Uint8Array): string[] | undefined {
  if (e.length < 2) return undefined;
  const listLength = ((e[0] as number) << 8) | (e[1] as number);
  if (listLength !== e.length - 2 || listLength === 0) return undefined;
  const out: string[] = [];
  let off = 2;
  while (off < e.length) {
    const n = e[off] as number;
    if (n === 0 || off + 1 + n > e.length) return undefined;
    out.push(new TextDecoder('latin1').decode(e.subarray(off + 1, off + 1 + n)));
    off += 1 + n;
  }
  return out;
}
