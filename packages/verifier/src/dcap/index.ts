/**
 * DCAP (SGX and TDX) appraisal following Intel's Quote Verification Library. An explicit list:
 * `appraise` (which takes already-verified inputs) stays internal; `verifyQuote` and
 * `createQuoteVerifier` take the quote and raw collateral and verify everything themselves.
 */
export { checkTcbInfoMatches } from './collateral-match.js';
export { pckCaKind, pckChainPemOf, type VerifiedPck, verifyPckChain } from './pck-chain.js';
export { fmspcHex, OID_SGX_EXTENSION, type PckExtensions, type PckTcb, parsePckExtensions } from './pck-extensions.js';
export {
  checkQeIdentityTee,
  MAX_QE_IDENTITY_BYTES,
  matchQeIdentity,
  parseQeIdentity,
  type QeIdentity,
  type QeIdentityLevel,
  verifyQeIdentity,
} from './qe-identity.js';
export { checkQeReportData, verifyQeReportSignature } from './qe-report.js';
export { attestationKeyOf, verifyQuoteSignature } from './quote-signature.js';
export {
  createQuoteVerifier,
  type QuoteVerifier,
  type QuoteVerifierOptions,
  type QuoteVerifierStats,
} from './quote-verifier.js';
export { checkPckRevocation } from './revocation.js';
export { convergeStatus, mergeTcbStatus } from './status.js';
export {
  MAX_TCB_INFO_BYTES,
  parseTcbInfo,
  type TcbInfo,
  type TcbLevel,
  type TdxModule,
  type TdxModuleIdentity,
} from './tcb-info.js';
export { matchTcbLevel } from './tcb-level.js';
export { checkTdxModule, findTdxModuleIdentity, type TdxModuleResult } from './tdx-module.js';
export {
  type KnownIssuer,
  type VerifiedCollateral,
  verifyCollateral,
  verifyCrls,
  verifyTcbInfo,
} from './verify-collateral.js';
export { toDcapCollateral, type VerifyQuoteOptions, verifyQuote, verifyQuoteSync } from './verify-quote.js';
