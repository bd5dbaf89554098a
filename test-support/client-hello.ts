/**
 * A minimal TLS ClientHello record (one cipher suite, optional ALPN extension; RFC 8446 4.1.2 and
 * RFC 7301 3.1 layouts) for tests of readers that look at it before the TLS engine does.
 */
/**
 * A ClientHello record offering `alpn` (or no ALPN extension).
 * @example clientHello(["postgresql"]); // 0x16 0x03 0x01 ... with ALPN postgresql
 */
export function clientHello(alpn?: string[]): Uint8Array {
  const ext: number[] = [];
  if (alpn) {
    const list = alpn.flatMap((p) => [p.length, ...Buffer.from(p, 'latin1')]);
    ext.push(
      0x00,
      0x10,
      ((list.length + 2) >> 8) & 0xff,
      (list.length + 2) & 0xff,
      (list.length >> 8) & 0xff,
      list.length & 0xff,
      ...list,
    );
  }
  const body = [0x03, 0x03, ...new Array(32).fill(7), 0, 0x00, 0x02, 0x13, 0x01, 0x01, 0x00];
  if (ext.length) body.push((ext.length >> 8) & 0xff, ext.length & 0xff, ...ext);
  const hs = [0x01, (body.length >> 16) & 0xff, (body.length >> 8) & 0xff, body.length & 0xff, ...body];
  return Uint8Array.from([0x16, 0x03, 0x01, (hs.length >> 8) & 0xff, hs.length & 0xff, ...hs]);
}
