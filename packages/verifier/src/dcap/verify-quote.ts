/**
 * `verifyQuote`: stateless DCAP appraisal of one quote with given collateral at a given time.
 */
import {
  AppraisalError,
  CollateralError,
  MAX_QUOTE_BYTES,
  parseQuote,
  type Quote,
  RatlsError,
  sha256Hex,
} from '@ratls/evidence';
import { collateralFromJson } from '../collateral/json.js';
import type { DcapCollateral, QuoteCollateralV3Json } from '../collateral/types.js';
import type { DcapResult } from '../result.js';
import { toUnixSeconds } from '../time.js';
import { defaultTrustAnchors, type TrustAnchor } from '../trust.js';
import { appraise } from './appraise.js';
import { pckChainPemOf, verifyPckChain } from './pck-chain.js';
import { verifyCollateral } from './verify-collateral.js';

export interface VerifyQuoteOptions {
  /** Verification time: a Date, or unix seconds. */
  at: Date | number;
  /** Defaults to `defaultTrustAnchors()` (the pinned Intel SGX Root CA). */
  trustAnchors?: TrustAnchor[];
}

/** Normalizes any accepted collateral form. */
export function toDcapCollateral(c: DcapCollateral | QuoteCollateralV3Json | string): DcapCollateral {
  if (typeof c === 'string' || (typeof c === 'object' && c !== null && 'tcb_info' in c)) {
    return collateralFromJson(c as string | QuoteCollateralV3Json);
  }
  if (
    typeof c !== 'object' ||
    c === null ||
    typeof c.tcbInfoJson !== 'string' ||
    typeof c.qeIdentityJson !== 'string' ||
    !(c.pckCrl instanceof Uint8Array) ||
    !(c.rootCaCrl instanceof Uint8Array)
  ) {
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      'collateral: not a DcapCollateral or QuoteCollateralV3 JSON',
    );
  }
  return c;
}

/** Parses quote bytes; the parser's typed errors pass through. */
export function parseQuoteBytes(quote: Uint8Array): Quote {
  checkQuoteBytes(quote);
  return parseQuote(quote);
}

/**
 * The appraiser's own bounds on quote bytes (type, ERR_QUOTE_TOO_LARGE), also applied when the
 * quote arrives already parsed, so both entries refuse the same inputs with the same codes.
 * @example checkQuoteBytes(ev.evidence)
 */
export function checkQuoteBytes(quote: Uint8Array): void {
  if (!(quote instanceof Uint8Array)) {
    throw new AppraisalError('ERR_QUOTE_INVALID', 'parse', 'quote must be a Uint8Array');
  }
  if (quote.length > MAX_QUOTE_BYTES) {
    throw new AppraisalError(
      'ERR_QUOTE_TOO_LARGE',
      'parse',
      `quote of ${quote.length} bytes exceeds ${MAX_QUOTE_BYTES}`,
    );
  }
}

/**
 * Verifies an SGX or TDX quote against collateral at time `at`, following Intel's Quote
 * Verification Library step by step. Stateless: nothing is cached between calls.
 * Throws a RatlsError subclass (`code`, `step`) on any failure; Revoked and "no matching TCB
 * level" are failures, other TCB statuses and debug mode are facts in the result for policy.
 * @example
 * const r = await verifyQuote(quoteBytes, readFileSync('collateral.json', 'utf8'), { at: new Date() })
 * if (r.tee === 'sgx') console.log(r.tcbStatus, r.measurements.mrEnclave)
 */
export async function verifyQuote(
  quote: Uint8Array,
  collateral: DcapCollateral | QuoteCollateralV3Json | string,
  opts: VerifyQuoteOptions,
): Promise<DcapResult> {
  try {
    return verifyQuoteSync(quote, collateral, opts);
  } catch (e) {
    throw asTyped(e);
  }
}

/** Anything that is not already a RatlsError (a bug, or a caller passing the wrong types) becomes ERR_INTERNAL. */
export function asTyped(e: unknown): RatlsError {
  if (e instanceof RatlsError) return e;
  return new AppraisalError('ERR_INTERNAL', 'appraise', `DCAP appraisal failed unexpectedly: ${String(e)}`, {
    cause: e,
  });
}

/** Synchronous core of `verifyQuote` (same contract). */
export function verifyQuoteSync(
  quote: Uint8Array,
  collateral: DcapCollateral | QuoteCollateralV3Json | string,
  opts: VerifyQuoteOptions,
): DcapResult {
  const at = toUnixSeconds(opts?.at);
  const c = toDcapCollateral(collateral);
  return appraiseStateless(parseQuoteBytes(quote), sha256Hex(quote), c, at, opts);
}

/**
 * `verifyQuote` for a quote the caller's own decision already parsed (`verifyCertificate`: the
 * binding check and the appraisal share one parse, ARCHITECTURE "Parsing"). Internal: `q` must be
 * `parseQuote(quote)` and `evidenceSha256` SHA-256 of `quote`, both made by verifying code from the
 * same bytes; the bounds of `checkQuoteBytes` are applied here as in `verifyQuote`.
 * @example const r = await verifyParsedQuote(parses.quote(ev), ev.evidence, sha256Hex(ev.evidence), collateral, { at })
 */
export async function verifyParsedQuote(
  q: Quote,
  quote: Uint8Array,
  evidenceSha256: string,
  collateral: DcapCollateral | QuoteCollateralV3Json | string,
  opts: VerifyQuoteOptions,
): Promise<DcapResult> {
  try {
    const at = toUnixSeconds(opts?.at);
    const c = toDcapCollateral(collateral);
    checkQuoteBytes(quote);
    return appraiseStateless(q, evidenceSha256, c, at, opts);
  } catch (e) {
    throw asTyped(e);
  }
}

function appraiseStateless(
  q: Quote,
  evidenceSha256: string,
  c: DcapCollateral,
  at: number,
  opts: VerifyQuoteOptions,
): DcapResult {
  const anchors = opts.trustAnchors ?? defaultTrustAnchors();
  const pck = verifyPckChain(pckChainPemOf(q), anchors, at);
  const vc = verifyCollateral(c, anchors, at, [{ cert: pck.ca, key: pck.caKey }]);
  return appraise(q, pck, vc, { at, evidenceSha256 });
}
