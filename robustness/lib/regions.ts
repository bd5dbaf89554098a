/**
 * Byte regions of a DCAP quote, named after what signs or binds them, and helpers that mutate
 * one byte in place (including DER bytes inside PEM text, re-encoded at the same length).
 */
import { parseQuote } from '@ratls/evidence';

export interface Region {
  name: string;
  start: number;
  end: number;
}

const SGX_BODY = 384;
const SGX_REPORT_DATA = 320;
const TD_REPORT_DATA = 520;

/**
 * Regions of a v3/v4/v5 quote. Layout (Intel SGX ECDSA Quote Library API §A.4; TDX DCAP Quoting
 * Library API §A.3): header ‖ [v5 descriptor] ‖ body ‖ u32 sig len ‖ sig ‖ attestation key ‖
 * [v4+: u16 type 6 ‖ u32 size] ‖ QE report ‖ QE report sig ‖ u16 auth len ‖ auth ‖ u16 type 5 ‖
 * u32 size ‖ PCK chain PEM ‖ trailing bytes.
 */
export function quoteRegions(quote: Uint8Array): Region[] {
  const q = parseQuote(quote);
  const signedEnd = q.signedBytes.length;
  const v = q.header.version;
  const bodyStart = v === 5 ? 54 : 48;
  const rdOff = q.body.kind === 'sgx' ? SGX_REPORT_DATA : TD_REPORT_DATA;
  const rd = bodyStart + rdOff;
  const s = signedEnd + 4;
  const qe = v === 3 ? s + 128 : s + 134;
  const qeSig = qe + SGX_BODY;
  const authLen = qeSig + 64;
  const auth = authLen + 2;
  const authEnd = auth + q.signatureData.qeAuthData.length;
  const cert = authEnd + 6;
  const regions: Region[] = [
    { name: 'header', start: 0, end: bodyStart },
    { name: 'body', start: bodyStart, end: rd },
    { name: 'report-data', start: rd, end: rd + 64 },
    { name: 'framing', start: signedEnd, end: s },
    { name: 'quote-signature', start: s, end: s + 64 },
    { name: 'attestation-key', start: s + 64, end: s + 128 },
    { name: 'qe-report', start: qe, end: qeSig },
    { name: 'qe-report-signature', start: qeSig, end: qeSig + 64 },
    { name: 'framing', start: authLen, end: auth },
    { name: 'qe-auth-data', start: auth, end: authEnd },
    { name: 'framing', start: authEnd, end: cert },
    { name: 'pck-chain', start: cert, end: q.length },
  ];
  if (rd + 64 < signedEnd) regions.push({ name: 'body', start: rd + 64, end: signedEnd });
  if (v !== 3) regions.push({ name: 'framing', start: s + 128, end: s + 134 });
  // Padding after the signature data: covered by no signature and never read (MANIFEST §6).
  if (q.trailingBytes > 0) regions.push({ name: 'trailing', start: q.length, end: quote.length });
  return regions.filter((r) => r.end > r.start);
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Stable 32-bit hash of a string (FNV-1a), to seed one PRNG per subject and region. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** `n` distinct positions in [0, size) (all of them when size ≤ n), in a seeded order. */
export function samplePositions(size: number, n: number, rnd: () => number): number[] {
  if (size <= n) return Array.from({ length: size }, (_, i) => i);
  const picked = new Set<number>();
  while (picked.size < n) picked.add(Math.floor(rnd() * size));
  return [...picked];
}

export function flipByte(b: Uint8Array, pos: number, mask: number): Uint8Array {
  const out = b.slice();
  out[pos] = (out[pos] as number) ^ (mask & 0xff || 1);
  return out;
}

const B64 = /[A-Za-z0-9+/=]/;

/** Positions (in the text) of the base64 characters of every PEM block, one array per block. */
function pemBlocks(text: string): number[][] {
  const blocks: number[][] = [];
  const re = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END [A-Z ]+-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const bodyStart = m.index + m[0].indexOf('-----', 5) + 5;
    const bodyText = m[1] as string;
    const pos: number[] = [];
    for (let i = 0; i < bodyText.length; i++) if (B64.test(bodyText[i] as string)) pos.push(bodyStart + i);
    blocks.push(pos);
  }
  return blocks;
}

/**
 * Positions of a PEM text that are not base64 characters inside a block: the BEGIN/END lines and
 * line breaks of each block (`last` marks the final block, the root copy in a PCK chain), and
 * text outside any block (`outside`).
 */
export function pemFraming(text: string): { pos: number; where: 'block' | 'last' | 'outside' }[] {
  const re = /-----BEGIN [A-Z ]+-----([\s\S]*?)-----END [A-Z ]+-----/g;
  const spans: [number, number][] = [];
  for (let m = re.exec(text); m; m = re.exec(text)) spans.push([m.index, m.index + m[0].length]);
  const b64 = new Set(pemBlocks(text).flat());
  const out: { pos: number; where: 'block' | 'last' | 'outside' }[] = [];
  for (let i = 0; i < text.length; i++) {
    if (b64.has(i)) continue;
    const k = spans.findIndex(([a, e]) => i >= a && i < e);
    out.push({ pos: i, where: k < 0 ? 'outside' : k === spans.length - 1 ? 'last' : 'block' });
  }
  return out;
}

/**
 * The DER certificates a lenient PEM reader finds (BEGIN/END CERTIFICATE lines, base64 with line
 * breaks skipped, a dangling partial base64 group dropped: Node's decoder), as hex strings.
 */
export function pemDers(text: string): string[] {
  const out: string[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const body = m[1] as string;
    out.push(/^[A-Za-z0-9+/=\s]*$/.test(body) ? Buffer.from(body, 'base64').toString('hex') : `invalid:${out.length}`);
  }
  return out;
}

/** Total DER bytes across the PEM blocks of `text`. */
export function pemDerSize(text: string): number {
  return pemBlocks(text).reduce((s, p) => s + Buffer.from(p.map((i) => text[i]).join(''), 'base64').length, 0);
}

/**
 * Flips DER byte `derPos` (counted across all blocks) of the certificates in a PEM text and
 * re-encodes that block in the same character positions, so the text keeps its length.
 */
export function flipPemDer(text: string, derPos: number, mask: number): string {
  const chars = text.split('');
  let left = derPos;
  for (const pos of pemBlocks(text)) {
    const der = Buffer.from(pos.map((i) => text[i]).join(''), 'base64');
    if (left >= der.length) {
      left -= der.length;
      continue;
    }
    der[left] = (der[left] as number) ^ (mask & 0xff || 1);
    const b64 = der.toString('base64');
    pos.forEach((p, k) => {
      chars[p] = b64[k] as string;
    });
    return chars.join('');
  }
  throw new Error(`DER position ${derPos} is past the PEM text`);
}

/** The index of `needle` inside `hay`, or -1. */
export function indexOfBytes(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay.buffer, hay.byteOffset, hay.length).indexOf(
    Buffer.from(needle.buffer, needle.byteOffset, needle.length),
  );
}
