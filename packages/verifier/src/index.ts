/** @ratls/verifier: appraisal, collateral, policy, audit and TLS wrappers. */

export * from './audit/index.js';
export * from './certificate/index.js';
export * from './collateral/index.js';
export * from './collateral/types.js';
export * from './dcap/index.js';
export * from './nitro/index.js';
export * from './policy/index.js';
export * from './result.js';
export * from './snp/index.js';
export * from './tls/index.js';
export * from './trust.js';
