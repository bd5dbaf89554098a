/** DCAP (SGX and TDX) appraisal following Intel's Quote Verification Library. */
export * from './appraise.js';
export * from './collateral-match.js';
export * from './pck-chain.js';
export * from './pck-extensions.js';
export * from './qe-identity.js';
export * from './qe-report.js';
export * from './quote-signature.js';
export * from './quote-verifier.js';
export * from './revocation.js';
export * from './status.js';
export * from './tcb-info.js';
export * from './tcb-level.js';
export * from './tdx-module.js';
export * from './verify-collateral.js';
export { toDcapCollateral, type VerifyQuoteOptions, verifyQuote, verifyQuoteSync } from './verify-quote.js';
