export {
  BundleCollateralSource,
  type BundleManifest,
  readBundleManifest,
  writeBundleManifest,
} from './bundle.js';
export { crlTimes, MAX_CRL_BYTES, normalizeCrl } from './crl.js';
export { type CollateralFacts, collateralFacts } from './facts.js';
export { FileCollateralSource } from './file-source.js';
export { collateralFromPcsResponses, type PcsResponses } from './from-pcs.js';
export { HostThrottle, type HostThrottleOptions, type HostThrottleStatus } from './host-throttle.js';
export { parseRetryAfter, RateLimitedError } from './http.js';
export { decodeIssuerChain, MAX_ISSUER_CHAIN_BYTES } from './issuer-chain.js';
export { collateralFromJson, collateralToJson, MAX_COLLATERAL_JSON_BYTES } from './json.js';
export {
  PccsCollateralSource,
  type PccsCollateralSourceOptions,
  type PccsCounters,
  type PccsStatus,
} from './pccs-source.js';
export { type EvaluationNumbers, evaluationNumbers, RollbackGuard } from './rollback-guard.js';
export { extractSignedJson } from './signed-json.js';
export type { CollateralRequest, CollateralSource, DcapCollateral, QuoteCollateralV3Json } from './types.js';
