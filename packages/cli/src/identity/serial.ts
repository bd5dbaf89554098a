import { randomBytes } from 'node:crypto';

/**
 * A random positive 128-bit certificate serial, hex (RFC 5280 §4.1.2.2: positive, ≤ 20 octets;
 * CA/B BR 7.1: ≥ 64 bits from a CSPRNG). The top bit is cleared so DER needs no sign octet.
 * @example newSerial().length === 32
 */
export function newSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex');
}
