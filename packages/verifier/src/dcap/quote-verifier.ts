/**
 * `createQuoteVerifier`: the same appraisal as `verifyQuote`, with verification work cached where
 * the inputs are the same (ARCHITECTURE.md "DCAP appraisal"): verified collateral per
 * (TEE, FMSPC, PCK CA) while `at` is inside its window (so never past its earliest nextUpdate),
 * verified PCK chains per chain text, verified QE report signatures per (PCK leaf, QE report,
 * signature), attestation keys per key bytes, and whole results per quote hash, revalidated
 * against `at`. Every cache is a bounded LRU. The floor per new quote is one P-256 verification.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { parseQuote, type Quote, sha256Hex } from '@ratls/evidence';
import { Lru } from '../cache/lru.js';
import type { CollateralRequest, CollateralSource } from '../collateral/types.js';
import { type DcapResult, markVerified } from '../result.js';
import { toUnixSeconds } from '../time.js';
import { defaultTrustAnchors, type TrustAnchor } from '../trust.js';
import { appraise } from './appraise.js';
import { pckChainPemOf, type VerifiedPck, verifyPckChain } from './pck-chain.js';
import { fmspcHex } from './pck-extensions.js';
import { attestationKeyOf } from './quote-signature.js';
import { type VerifiedCollateral, verifyCollateral } from './verify-collateral.js';
import { asTyped, checkQuoteBytes, toDcapCollateral } from './verify-quote.js';

export interface QuoteVerifierOptions {
  collateralSource: CollateralSource;
  /** Defaults to `defaultTrustAnchors()`. */
  trustAnchors?: TrustAnchor[];
  /** Bound of each cache (default 1000 entries). */
  cache?: { maxEntries?: number };
}

/** Counters, for tests and metrics. */
export interface QuoteVerifierStats {
  collateralFetches: number;
  collateralVerifications: number;
  collateralHits: number;
  pckChainVerifications: number;
  pckChainHits: number;
  qeReportVerifications: number;
  qeReportHits: number;
  resultHits: number;
}

export interface QuoteVerifier {
  /** Same contract, results and errors as `verifyQuote`. */
  verify(quote: Uint8Array, opts: { at: Date | number }): Promise<DcapResult>;
  stats(): QuoteVerifierStats;
  /** Drops every cached entry. */
  clear(): void;
}

const within = (at: number, w: { notBefore: number; notAfter: number }) => at >= w.notBefore && at <= w.notAfter;

/** `verify` for a quote already parsed (and hashed) by the verifying code that holds it. */
export type ParsedQuoteVerify = (
  q: Quote,
  quote: Uint8Array,
  evidenceSha256: string,
  opts: { at: Date | number },
) => Promise<DcapResult>;

// Verifiers made by createQuoteVerifier, and their parsed-quote entry. Module-private, like the
// proof registries: an object a caller made is never in it, so its `verify` gets the bytes.
const parsedEntries = new WeakMap<object, ParsedQuoteVerify>();

/**
 * The parsed-quote entry of a verifier made by `createQuoteVerifier`, or undefined for any other
 * object (a caller's own `QuoteVerifierLike`, which then gets the quote bytes). Internal to
 * `verifyCertificate`, which hands on the quote its binding check parsed (one parse per decision).
 * @example const entry = parsedQuoteEntry(o.quoteVerifier); if (entry) await entry(q, bytes, sha, { at })
 */
export function parsedQuoteEntry(v: unknown): ParsedQuoteVerify | undefined {
  return typeof v === 'object' && v !== null ? parsedEntries.get(v) : undefined;
}

/**
 * @example
 * const v = createQuoteVerifier({ collateralSource: pccs })
 * const r = await v.verify(quoteBytes, { at: new Date() })
 */
export function createQuoteVerifier(o: QuoteVerifierOptions): QuoteVerifier {
  const anchors = o.trustAnchors ?? defaultTrustAnchors();
  const max = o.cache?.maxEntries ?? 1000;
  const collateral = new Lru<string, VerifiedCollateral>(Math.max(1, Math.min(max, 256)));
  const chains = new Lru<string, VerifiedPck>(max);
  const qeReports = new Lru<string, true>(max);
  const akKeys = new Lru<string, KeyObject>(max);
  const results = new Lru<string, DcapResult>(max);
  const inflight = new Map<string, Promise<VerifiedCollateral>>();
  const s: QuoteVerifierStats = {
    collateralFetches: 0,
    collateralVerifications: 0,
    collateralHits: 0,
    pckChainVerifications: 0,
    pckChainHits: 0,
    qeReportVerifications: 0,
    qeReportHits: 0,
    resultHits: 0,
  };

  async function collateralFor(req: CollateralRequest, pck: VerifiedPck, at: number): Promise<VerifiedCollateral> {
    const key = `${req.tee}:${req.fmspc}:${req.pckCa}`;
    const hit = collateral.get(key);
    if (hit && within(at, hit)) {
      s.collateralHits++;
      return hit;
    }
    const flightKey = `${key}@${at}`;
    let p = inflight.get(flightKey);
    if (!p) {
      p = (async () => {
        s.collateralFetches++;
        const c = toDcapCollateral(await o.collateralSource.getCollateral(req));
        s.collateralVerifications++;
        const vc = verifyCollateral(c, anchors, at, [{ cert: pck.ca, key: pck.caKey }]);
        collateral.set(key, vc);
        return vc;
      })();
      inflight.set(flightKey, p);
      p.then(
        () => inflight.delete(flightKey),
        () => inflight.delete(flightKey),
      );
    }
    return p;
  }

  const verifier: QuoteVerifier = {
    async verify(quote, opts) {
      try {
        return await verifyOne(undefined, quote, undefined, opts);
      } catch (e) {
        throw asTyped(e);
      }
    },
    stats: () => ({ ...s }),
    clear() {
      for (const c of [collateral, chains, qeReports, akKeys, results]) c.clear();
    },
  };
  parsedEntries.set(verifier, async (q, quote, sha, opts) => {
    try {
      return await verifyOne(q, quote, sha, opts);
    } catch (e) {
      throw asTyped(e);
    }
  });
  return verifier;

  async function verifyOne(
    parsed: Quote | undefined,
    quote: Uint8Array,
    evidenceSha256: string | undefined,
    opts: { at: Date | number },
  ): Promise<DcapResult> {
    const at = toUnixSeconds(opts?.at);
    checkQuoteBytes(quote);
    const sha = evidenceSha256 ?? sha256Hex(quote);
    const cached = results.get(sha);
    if (cached && within(at, cached.collateralWindow)) {
      s.resultHits++;
      // The cache holds the deep-frozen original (no caller can edit it); each hit gets its own
      // frozen, registered copy so callers never share identity with the cache entry.
      return markVerified(structuredClone(cached));
    }
    // Parsed only on a miss: a hit is for the very bytes that parsed and verified before.
    const q = parsed ?? parseQuote(quote);
    const pem = pckChainPemOf(q);
    let pck = chains.get(pem);
    if (pck && within(at, pck.chain)) s.pckChainHits++;
    else {
      s.pckChainVerifications++;
      pck = verifyPckChain(pem, anchors, at);
      chains.set(pem, pck);
    }
    const vc = await collateralFor({ tee: q.tee, fmspc: fmspcHex(pck.ext), pckCa: pck.pckCa }, pck, at);
    const sd = q.signatureData;
    const qeKey = createHash('sha256')
      .update(pck.leaf.der)
      .update(sd.qeReport.raw)
      .update(sd.qeReportSignature)
      .digest('hex');
    const qeReportVerified = qeReports.get(qeKey) === true;
    if (qeReportVerified) s.qeReportHits++;
    else s.qeReportVerifications++;
    const akHex = Buffer.from(sd.attestationKey).toString('hex');
    let ak = akKeys.get(akHex);
    if (!ak) {
      ak = attestationKeyOf(q);
      akKeys.set(akHex, ak);
    }
    const r = appraise(q, pck, vc, { at, evidenceSha256: sha, qeReportVerified, attestationKey: ak });
    qeReports.set(qeKey, true);
    results.set(sha, r);
    return r;
  }
}
