/**
 * A small DER walker for the mutation corpus: it locates byte ranges inside certificates and CRLs
 * (TBS, extensions, signature) and rebuilds a certificate after one node changed, so a spliced
 * certificate can be re-signed. Test tooling only: it trusts its input to be DER.
 */
import { type KeyObject, sign } from 'node:crypto';

export interface DerNode {
  tag: number;
  /** Offset of the tag byte in the original buffer. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset after the last content byte. */
  end: number;
  children?: DerNode[];
}

const CONSTRUCTED = 0x20;

export function parseDer(buf: Uint8Array, start = 0, end = buf.length): DerNode[] {
  const out: DerNode[] = [];
  let p = start;
  while (p < end) {
    const tag = buf[p] as number;
    let q = p + 1;
    let len = buf[q++] as number;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (buf[q++] as number);
    }
    const node: DerNode = { tag, start: p, contentStart: q, end: q + len };
    if (tag & CONSTRUCTED) node.children = parseDer(buf, q, q + len);
    out.push(node);
    p = q + len;
  }
  return out;
}

/** The single top-level node of a DER value. */
export function derRoot(buf: Uint8Array): DerNode {
  const [n] = parseDer(buf);
  if (!n) throw new Error('empty DER');
  return n;
}

export function child(n: DerNode, i: number): DerNode {
  const c = n.children?.[i];
  if (!c) throw new Error(`DER node has no child ${i}`);
  return c;
}

function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const len = encodeLength(content.length);
  const out = new Uint8Array(1 + len.length + content.length);
  out[0] = tag;
  out.set(len, 1);
  out.set(content, 1 + len.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Re-encodes `node` with the node at `target` (a start offset) replaced by `replacement` (a whole
 * TLV); lengths of every enclosing node are recomputed.
 */
export function replaceNode(buf: Uint8Array, node: DerNode, target: number, replacement: Uint8Array): Uint8Array {
  if (node.start === target) return replacement;
  if (!node.children) return buf.slice(node.start, node.end);
  const inner = node.children.map((c) =>
    target >= c.start && target < c.end ? replaceNode(buf, c, target, replacement) : buf.slice(c.start, c.end),
  );
  return tlv(node.tag, concat(inner));
}

/** Certificate layout: Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signatureValue }. */
export interface CertLayout {
  root: DerNode;
  tbs: DerNode;
  sigAlg: DerNode;
  sigValue: DerNode;
  /** Extensions (each SEQUENCE { extnID, [critical], extnValue OCTET STRING }), by OID bytes hex. */
  extensions: { oidHex: string; node: DerNode; value: DerNode }[];
}

export function certLayout(der: Uint8Array): CertLayout {
  const root = derRoot(der);
  const tbs = child(root, 0);
  const extensions: CertLayout['extensions'] = [];
  const extsWrapper = tbs.children?.find((c) => c.tag === 0xa3);
  for (const ext of extsWrapper ? (child(extsWrapper, 0).children ?? []) : []) {
    const oid = child(ext, 0);
    const value = ext.children?.[ext.children.length - 1] as DerNode;
    extensions.push({ oidHex: Buffer.from(der.subarray(oid.contentStart, oid.end)).toString('hex'), node: ext, value });
  }
  return { root, tbs, sigAlg: child(root, 1), sigValue: child(root, 2), extensions };
}

/** DER content bytes (hex) of the OID 2.23.133.5.4.9 (TCG DICE tagged evidence). */
export const OID_DICE_TAGGED_HEX = '678105050409';

/**
 * Replaces one extension's value (OCTET STRING contents) and re-signs the certificate with `key`
 * (ECDSA, hash chosen by the caller to match the signature algorithm already in the certificate).
 */
export function resignWithExtension(
  der: Uint8Array,
  oidHex: string,
  newValue: Uint8Array,
  key: KeyObject,
  hash: 'sha256' | 'sha384',
): Uint8Array {
  const l = certLayout(der);
  const ext = l.extensions.find((e) => e.oidHex === oidHex);
  if (!ext) throw new Error(`no extension ${oidHex}`);
  const tbs = replaceNode(der, l.tbs, ext.value.start, tlv(0x04, newValue));
  return resignTbs(der, tbs, key, hash);
}

/** Builds Certificate { tbs, original signatureAlgorithm, new signature } . */
export function resignTbs(der: Uint8Array, tbs: Uint8Array, key: KeyObject, hash: 'sha256' | 'sha384'): Uint8Array {
  const l = certLayout(der);
  const sig = sign(hash, tbs, { key, dsaEncoding: 'der' });
  const bitString = tlv(0x03, concat([Uint8Array.of(0), new Uint8Array(sig)]));
  return tlv(0x30, concat([tbs, der.slice(l.sigAlg.start, l.sigAlg.end), bitString]));
}
