import { canonicalCode, type ErrorCode, isErrorCode } from './error-codes.js';

/**
 * Every failure in ratls is a `RatlsError` with a stable `code` (what went wrong) and the `step`
 * it came from (where in the pipeline). Codes never change meaning; messages may improve. Every
 * code is registered in `ERROR_CODES` (error-codes.ts): an unregistered code does not typecheck.
 * `C` stays `ErrorCode` except for `AttestationRejectedError`, which carries the code a custom
 * appraiser chose.
 *
 * @example
 * try { parseQuote(bytes) } catch (e) { if (e instanceof RatlsError) console.log(e.code, e.step) }
 */
export class RatlsError<C extends string = ErrorCode> extends Error {
  readonly code: C;
  readonly step: string;
  constructor(code: NoInfer<C>, step: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.step = step;
  }

  /**
   * The JSON shape used by the CLI and audit events. A deprecated alias is emitted as it always
   * was, with `canonicalCode` naming the code it merged into, so rules on either spelling match.
   */
  toJSON(): { code: string; step: string; message: string; canonicalCode?: ErrorCode } {
    const canonical = isErrorCode(this.code) ? canonicalCode(this.code) : undefined;
    return canonical !== undefined && canonical !== this.code
      ? { code: this.code, step: this.step, message: this.message, canonicalCode: canonical }
      : { code: this.code, step: this.step, message: this.message };
  }
}

/** Bytes that do not parse as the structure they claim to be (quote, report, extension, CBOR). */
export class EvidenceParseError extends RatlsError {}
/** A DCAP/SNP/Nitro appraisal step refused the evidence (signature, chain, CRL, TCB, identity). */
export class AppraisalError extends RatlsError {}
/** Collateral is missing, malformed, expired, or for another platform. */
export class CollateralError extends RatlsError {}
/** The X.509 certificate itself is unacceptable (validity, signature, size, no evidence). */
export class CertificateError extends RatlsError {}
/** The evidence does not bind the certificate's key (report data ↔ claims ↔ SPKI). */
export class BindingError extends RatlsError {}
/** A policy file is invalid, or a policy refused the peer. */
export class PolicyError extends RatlsError {}
/** A configuration file or option is invalid. */
export class ConfigError extends RatlsError {}
/** A quote provider (TEE device interface) failed. */
export class ProviderError extends RatlsError {}

/** Wraps anything thrown into a RatlsError so callers only ever see typed errors. */
export function toRatlsError(e: unknown, code: ErrorCode, step: string): RatlsError {
  if (e instanceof RatlsError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new RatlsError(code, step, `${step}: unexpected failure: ${msg}`, { cause: e });
}
