/**
 * The mutation corpus: a deterministic plan of mutants (small, serialisable descriptors) over the
 * subjects, and `materialize`, which turns one descriptor into the verification call it stands
 * for. Every mutant must be refused with a RatlsError, except bytes no signature covers on purpose
 * (`expect: 'unsigned'`, each explained where it is planned).
 */
import {
  DICE_TAG_INTEL_QUOTE,
  DICE_TAG_TDX,
  decodeDiceTaggedEvidence,
  encodeDiceTaggedEvidence,
  extractEvidence,
} from '@ratls/evidence';
import { verifyCertificate, verifyQuote } from '@ratls/verifier';
import { certLayout, OID_DICE_TAGGED_HEX, resignWithExtension } from './der.js';
import {
  flipByte,
  flipPemDer,
  hash32,
  indexOfBytes,
  pemDerSize,
  pemDers,
  pemFraming,
  prng,
  quoteRegions,
  type Region,
  samplePositions,
} from './regions.js';
import type { CertSubject, QuoteSubject, Subjects } from './subjects.js';

type CollateralField =
  | 'tcb_info'
  | 'tcb_info_signature'
  | 'tcb_info_issuer_chain'
  | 'qe_identity'
  | 'qe_identity_signature'
  | 'qe_identity_issuer_chain'
  | 'pck_crl'
  | 'pck_crl_issuer_chain'
  | 'root_ca_crl';

const COLLATERAL_REGIONS: Record<CollateralField, string> = {
  tcb_info: 'tcb-info',
  tcb_info_signature: 'tcb-info-signature',
  tcb_info_issuer_chain: 'tcb-info-chain',
  qe_identity: 'qe-identity',
  qe_identity_signature: 'qe-identity-signature',
  qe_identity_issuer_chain: 'qe-identity-chain',
  pck_crl: 'pck-crl',
  pck_crl_issuer_chain: 'pck-crl-chain',
  root_ca_crl: 'root-ca-crl',
};

export type Op =
  | { kind: 'quote-byte'; q: number; pos: number; mask: number }
  | { kind: 'quote-pem'; q: number; derPos: number; mask: number }
  | { kind: 'collateral'; q: number; field: CollateralField; pos: number; mask: number }
  | { kind: 'cert-byte'; c: number; pos: number; mask: number }
  | { kind: 'resign'; c: number; pos: number; mask: number }
  | { kind: 'splice-collateral'; q: number; other: string }
  | { kind: 'splice-time'; q: number; at: number }
  | { kind: 'splice-quote'; c: number; fromQuote: number }
  | { kind: 'splice-extension'; c: number; fromCert: number };

export interface Mutant {
  subject: string;
  region: string;
  /** 'unsigned': bytes no signature covers by design; acceptance is expected and explained. */
  expect: 'refuse' | 'unsigned';
  op: Op;
}

export interface PlanOptions {
  seed: number;
  /** Mutants per (subject, region) for single-byte regions. */
  perRegion: number;
}

interface Ranges {
  name: string;
  ranges: [number, number][];
}

function group(regions: Region[]): Ranges[] {
  const m = new Map<string, [number, number][]>();
  for (const r of regions) {
    const list = m.get(r.name) ?? [];
    list.push([r.start, r.end]);
    m.set(r.name, list);
  }
  return [...m].map(([name, ranges]) => ({ name, ranges }));
}

/** Maps an index into the concatenation of `ranges` to an absolute offset. */
function at(ranges: [number, number][], i: number): number {
  let left = i;
  for (const [s, e] of ranges) {
    if (left < e - s) return s + left;
    left -= e - s;
  }
  throw new Error('index past ranges');
}

const size = (ranges: [number, number][]) => ranges.reduce((n, [s, e]) => n + e - s, 0);

/** Regions of a certificate: TBS, each evidence extension (quote, claims, framing), signature. */
export function certRegions(der: Uint8Array): Ranges[] {
  const l = certLayout(der);
  const ext: [number, number][] = [];
  const quote: [number, number][] = [];
  const claims: [number, number][] = [];
  const tbs: [number, number][] = [];
  let cursor = l.tbs.start;
  const evs = extractEvidence(der);
  for (const e of l.extensions) {
    const v = e.value;
    const value = der.subarray(v.contentStart, v.end);
    const ev = evs.find((x) => indexOfBytes(value, x.evidence) >= 0);
    if (!ev) continue;
    tbs.push([cursor, v.contentStart]);
    const qs = v.contentStart + indexOfBytes(value, ev.evidence);
    const qe = qs + ev.evidence.length;
    quote.push([qs, qe]);
    if (ev.claims) {
      const cs = v.contentStart + indexOfBytes(value, ev.claims);
      claims.push([cs, cs + ev.claims.length]);
      ext.push([v.contentStart, Math.min(qs, cs)]);
      ext.push([Math.min(qe, cs + ev.claims.length), Math.max(qs, cs)]);
      ext.push([Math.max(qe, cs + ev.claims.length), v.end]);
    } else {
      ext.push([v.contentStart, qs], [qe, v.end]);
    }
    cursor = v.end;
  }
  tbs.push([cursor, l.tbs.end]);
  const sigAlgOid = l.sigAlg.children?.[0] ?? l.sigAlg;
  const nonEmpty = (r: [number, number][]) => r.filter(([s, e]) => e > s);
  const all: Ranges[] = [
    { name: 'cert-tbs', ranges: nonEmpty(tbs) },
    { name: 'cert-extension', ranges: nonEmpty(ext) },
    { name: 'cert-quote', ranges: nonEmpty(quote) },
    { name: 'cert-dice-claims', ranges: nonEmpty(claims) },
    { name: 'cert-sigalg', ranges: [[l.sigAlg.start, sigAlgOid.end]] },
    { name: 'cert-sigalg-params', ranges: [[sigAlgOid.end, l.sigAlg.end]] },
    { name: 'cert-signature', ranges: [[l.sigValue.start, l.sigValue.end]] },
  ];
  return all.filter((r) => size(r.ranges) > 0);
}

/** Byte range (in the extension value) of the DICE extension, for re-signed mutants. */
function diceExtension(der: Uint8Array): { value: Uint8Array; quote: [number, number]; claims: [number, number] } {
  const l = certLayout(der);
  const e = l.extensions.find((x) => x.oidHex === OID_DICE_TAGGED_HEX);
  if (!e) throw new Error('no DICE extension');
  const value = der.slice(e.value.contentStart, e.value.end);
  const d = decodeDiceTaggedEvidence(value);
  const qs = indexOfBytes(value, d.evidence);
  const cs = indexOfBytes(value, d.claims);
  return { value, quote: [qs, qs + d.evidence.length], claims: [cs, cs + d.claims.length] };
}

function diceQuote(der: Uint8Array): Uint8Array {
  const d = diceExtension(der);
  return d.value.subarray(d.quote[0], d.quote[1]);
}

function collateralFieldSize(json: Record<string, string>, f: CollateralField): number {
  const v = json[f] as string;
  if (f === 'tcb_info' || f === 'qe_identity') return v.length;
  if (f.endsWith('_chain')) return pemDerSize(v);
  return v.length / 2;
}

/** True when quote `q` with collateral `name` at its own time is a listed, valid pairing. */
function legitPair(s: Subjects, q: QuoteSubject, name: string): boolean {
  return s.quotes.some(
    (o) =>
      o.collateralName === name &&
      Buffer.compare(Buffer.from(o.quote), Buffer.from(q.quote)) === 0 &&
      o.window[0] <= q.at &&
      q.at <= o.window[1],
  );
}

/** The plan: deterministic for a given seed and subject bytes. */
export function planMutants(s: Subjects, o: PlanOptions): Mutant[] {
  const out: Mutant[] = [];
  const rndFor = (...parts: (string | number)[]) => prng(hash32(`${o.seed}|${parts.join('|')}`));
  s.quotes.forEach((q, qi) => {
    for (const g of group(quoteRegions(q.quote))) {
      const rnd = rndFor(q.name, g.name);
      if (g.name === 'pck-chain') {
        const [[start, end]] = g.ranges as [[number, number]];
        const text = Buffer.from(q.quote.subarray(start, end)).toString('latin1');
        for (const i of samplePositions(pemDerSize(text), o.perRegion, rnd)) {
          out.push({
            subject: q.name,
            region: g.name,
            expect: 'refuse',
            op: { kind: 'quote-pem', q: qi, derPos: i, mask: 1 + Math.floor(rnd() * 255) },
          });
        }
        const framing = pemFraming(text);
        const ders = pemDers(text);
        const rf = rndFor(q.name, 'pck-pem-framing');
        for (const k of samplePositions(framing.length, o.perRegion, rf)) {
          const f = framing[k] as { pos: number; where: 'block' | 'last' | 'outside' };
          const mask = 1 + Math.floor(rf() * 255);
          const after = pemDers(
            text.slice(0, f.pos) + String.fromCharCode(text.charCodeAt(f.pos) ^ mask) + text.slice(f.pos + 1),
          );
          // The PEM text of the certification data is signed by nothing; only the DER of each
          // certificate is. A framing change is harmless when the certificates read from it are
          // byte-identical (text outside blocks, a line break turned into a space, a dangling
          // base64 character that decoders drop), or when it only drops the last block: the
          // root copy, which the verifier replaces by the pinned anchor it would use anyway
          // (pki/chain.ts completes rootless chains). Anything else must be refused.
          const same = after.join() === ders.join() || after.join() === ders.slice(0, -1).join();
          out.push({
            subject: q.name,
            region: 'pck-pem-framing',
            expect: same ? 'unsigned' : 'refuse',
            op: { kind: 'quote-byte', q: qi, pos: start + f.pos, mask },
          });
        }
        continue;
      }
      for (const i of samplePositions(size(g.ranges), o.perRegion, rnd)) {
        out.push({
          subject: q.name,
          region: g.name,
          // Padding after the signature data is read by nothing and signed by nothing: the
          // parser stops at the signature-data length (MANIFEST §6); flipping it cannot change
          // any verified fact.
          expect: g.name === 'trailing' ? 'unsigned' : 'refuse',
          op: { kind: 'quote-byte', q: qi, pos: at(g.ranges, i), mask: 1 + Math.floor(rnd() * 255) },
        });
      }
    }
    const json = JSON.parse(q.collateral) as Record<string, string>;
    for (const field of Object.keys(COLLATERAL_REGIONS) as CollateralField[]) {
      const rnd = rndFor(q.name, field);
      for (const i of samplePositions(collateralFieldSize(json, field), o.perRegion, rnd)) {
        out.push({
          subject: q.name,
          region: COLLATERAL_REGIONS[field],
          expect: 'refuse',
          op: { kind: 'collateral', q: qi, field, pos: i, mask: 1 + Math.floor(rnd() * 255) },
        });
      }
    }
    for (const [name] of s.collaterals) {
      if (legitPair(s, q, name)) continue;
      out.push({
        subject: q.name,
        region: 'splice-collateral',
        expect: 'refuse',
        op: { kind: 'splice-collateral', q: qi, other: name },
      });
    }
    for (const t of [q.window[0] - 1, q.window[1] + 1, q.window[0] - 86400 * 30, q.window[1] + 86400 * 365]) {
      out.push({ subject: q.name, region: 'splice-time', expect: 'refuse', op: { kind: 'splice-time', q: qi, at: t } });
    }
  });
  s.certs.forEach((c, ci) => {
    for (const g of certRegions(c.der)) {
      const rnd = rndFor(c.name, g.name);
      for (const i of samplePositions(size(g.ranges), o.perRegion, rnd)) {
        out.push({
          subject: c.name,
          region: g.name,
          // The outer signatureAlgorithm's parameters (the Gramine certificate carries an
          // explicit NULL) sit outside the signed TBS; RFC 5280 §4.1.1.2 wants them equal to the
          // TBS copy, and the verifier compares the whole AlgorithmIdentifier, so they are refused.
          expect: 'refuse',
          op: { kind: 'cert-byte', c: ci, pos: at(g.ranges, i), mask: 1 + Math.floor(rnd() * 255) },
        });
      }
    }
    if (!c.key) return;
    // Re-signed with the certificate's own key: only the checks behind the outer signature
    // (extension framing, binding, quote signature) can refuse these.
    const d = diceExtension(c.der);
    // The quote up to its PCK chain: the chain's PEM text is covered by 'pck-chain' and
    // 'pck-pem-framing' mutants on the same quotes.
    const chainStart = quoteRegions(diceQuote(c.der)).find((r) => r.name === 'pck-chain')?.start ?? 0;
    const parts: Ranges[] = [
      { name: 'resigned-quote', ranges: [[d.quote[0], d.quote[0] + chainStart]] },
      { name: 'resigned-dice-claims', ranges: [d.claims] },
      {
        name: 'resigned-extension',
        ranges: [
          [0, Math.min(d.quote[0], d.claims[0])],
          [Math.min(d.quote[1], d.claims[1]), Math.max(d.quote[0], d.claims[0])],
          [Math.max(d.quote[1], d.claims[1]), d.value.length],
        ].filter(([s0, e0]) => (e0 as number) > (s0 as number)) as [number, number][],
      },
    ];
    for (const g of parts) {
      const rnd = rndFor(c.name, g.name);
      for (const i of samplePositions(size(g.ranges), o.perRegion * 2, rnd)) {
        out.push({
          subject: c.name,
          region: g.name,
          expect: 'refuse',
          op: { kind: 'resign', c: ci, pos: at(g.ranges, i), mask: 1 + Math.floor(rnd() * 255) },
        });
      }
    }
    s.quotes.forEach((q, qi) => {
      if (Buffer.compare(Buffer.from(q.quote), Buffer.from(extractEvidence(c.der)[0]?.evidence ?? [])) === 0) return;
      out.push({
        subject: c.name,
        region: 'splice-quote',
        expect: 'refuse',
        op: { kind: 'splice-quote', c: ci, fromQuote: qi },
      });
    });
    s.certs.forEach((_other, oi) => {
      if (oi === ci) return;
      out.push({
        subject: c.name,
        region: 'splice-extension',
        expect: 'refuse',
        op: { kind: 'splice-extension', c: ci, fromCert: oi },
      });
    });
  });
  return out;
}

/** A digit becomes another digit (valid JSON stays valid); any other character a printable one. */
function mutateJsonText(text: string, pos: number, mask: number): string {
  const ch = text[pos] as string;
  let next: string;
  if (ch >= '0' && ch <= '9') next = String((Number(ch) + 1 + (mask % 9)) % 10);
  else {
    const code = 0x20 + ((ch.charCodeAt(0) - 0x20 + 1 + (mask % 94)) % 95);
    next = String.fromCharCode(code);
  }
  return text.slice(0, pos) + next + text.slice(pos + 1);
}

function mutateCollateral(collateral: string, field: CollateralField, pos: number, mask: number): string {
  const json = JSON.parse(collateral) as Record<string, string>;
  const v = json[field] as string;
  if (field === 'tcb_info' || field === 'qe_identity') json[field] = mutateJsonText(v, pos, mask);
  else if (field.endsWith('_chain')) json[field] = flipPemDer(v, pos, mask);
  else json[field] = Buffer.from(flipByte(Buffer.from(v, 'hex'), pos, mask)).toString('hex');
  return JSON.stringify(json);
}

function quoteCall(q: QuoteSubject, quote: Uint8Array, collateral: string, t: number): () => Promise<unknown> {
  return () => verifyQuote(quote, collateral, { at: t, ...(q.anchors ? { trustAnchors: q.anchors } : {}) });
}

function certCall(c: CertSubject, der: Uint8Array, collateral = c.collateral): () => Promise<unknown> {
  return () => verifyCertificate(der, { at: c.at, collateral, ...(c.anchors ? { trustAnchors: c.anchors } : {}) });
}

function resign(c: CertSubject, value: Uint8Array): Uint8Array {
  return resignWithExtension(
    c.der,
    OID_DICE_TAGGED_HEX,
    value,
    c.key as NonNullable<CertSubject['key']>,
    c.hash ?? 'sha256',
  );
}

/** The verification call a mutant stands for (the mutation happens here, not at plan time). */
export function materialize(s: Subjects, op: Op): () => Promise<unknown> {
  switch (op.kind) {
    case 'quote-byte': {
      const q = s.quotes[op.q] as QuoteSubject;
      return quoteCall(q, flipByte(q.quote, op.pos, op.mask), q.collateral, q.at);
    }
    case 'quote-pem': {
      const q = s.quotes[op.q] as QuoteSubject;
      const r = quoteRegions(q.quote).find((x) => x.name === 'pck-chain') as Region;
      const text = Buffer.from(q.quote.subarray(r.start, r.end)).toString('latin1');
      const mutated = q.quote.slice();
      mutated.set(Buffer.from(flipPemDer(text, op.derPos, op.mask), 'latin1'), r.start);
      return quoteCall(q, mutated, q.collateral, q.at);
    }
    case 'collateral': {
      const q = s.quotes[op.q] as QuoteSubject;
      return quoteCall(q, q.quote, mutateCollateral(q.collateral, op.field, op.pos, op.mask), q.at);
    }
    case 'splice-collateral': {
      const q = s.quotes[op.q] as QuoteSubject;
      return quoteCall(q, q.quote, s.collaterals.get(op.other) as string, q.at);
    }
    case 'splice-time': {
      const q = s.quotes[op.q] as QuoteSubject;
      return quoteCall(q, q.quote, q.collateral, op.at);
    }
    case 'cert-byte': {
      const c = s.certs[op.c] as CertSubject;
      return certCall(c, flipByte(c.der, op.pos, op.mask));
    }
    case 'resign': {
      const c = s.certs[op.c] as CertSubject;
      const { value } = diceExtension(c.der);
      return certCall(c, resign(c, flipByte(value, op.pos, op.mask)));
    }
    case 'splice-quote': {
      const c = s.certs[op.c] as CertSubject;
      const from = s.quotes[op.fromQuote] as QuoteSubject;
      const { value } = diceExtension(c.der);
      const claims = decodeDiceTaggedEvidence(value).claims;
      const tag = from.tee === 'tdx' ? DICE_TAG_TDX : DICE_TAG_INTEL_QUOTE;
      // The donor quote's own collateral, so only the binding can refuse it.
      return certCall(c, resign(c, encodeDiceTaggedEvidence(tag, from.quote, claims)), from.collateral);
    }
    case 'splice-extension': {
      const c = s.certs[op.c] as CertSubject;
      const from = s.certs[op.fromCert] as CertSubject;
      const l = certLayout(from.der);
      const e = l.extensions.find((x) => x.oidHex === OID_DICE_TAGGED_HEX);
      if (!e) throw new Error('donor has no DICE extension');
      return certCall(c, resign(c, from.der.slice(e.value.contentStart, e.value.end)), from.collateral);
    }
  }
}
