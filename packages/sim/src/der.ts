/** A minimal DER writer (X.690) for the few structures the simulator builds by hand. */

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const len = lengthBytes(content.length);
  const out = new Uint8Array(1 + len.length + content.length);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

export function seq(...items: Uint8Array[]): Uint8Array {
  return tlv(0x30, Buffer.concat(items));
}

export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map((a) => Number(a));
  const [a0, a1, ...rest] = arcs;
  const out: number[] = [(a0 ?? 0) * 40 + (a1 ?? 0)];
  for (const arc of rest) {
    const b: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) b.unshift((v & 0x7f) | 0x80);
    out.push(...b);
  }
  return tlv(0x06, new Uint8Array(out));
}

/** Non-negative INTEGER, minimal encoding. */
export function int(n: number): Uint8Array {
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  if (out.length === 0 || (out[0] as number) & 0x80) out.unshift(0);
  return tlv(0x02, new Uint8Array(out));
}

export function octets(b: Uint8Array): Uint8Array {
  return tlv(0x04, b);
}

export function enumerated(n: number): Uint8Array {
  return tlv(0x0a, new Uint8Array([n]));
}

export function bool(v: boolean): Uint8Array {
  return tlv(0x01, new Uint8Array([v ? 0xff : 0x00]));
}
