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
  return parseQuote(quote);
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
  const anchors = opts.trustAnchors ?? defaultTrustAnchors();
  const c = toDcapCollateral(collateral);
  const q = parseQuoteBytes(quote);
  const pck = verifyPckChain(pckChainPemOf(q), anchors, at);
  const vc = verifyCollateral(c, anchors, at, [{ cert: pck.ca, key: pck.caKey }]);
  return appraise(q, pck, vc, { at, evidenceSha256: sha256Hex(quote) });
}
