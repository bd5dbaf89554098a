export * from './json.js';
export * from './types.js';
export { extractSignedJson } from './signed-json.js';
export { decodeIssuerChain, MAX_ISSUER_CHAIN_BYTES } from './issuer-chain.js';
export { crlTimes, normalizeCrl, MAX_CRL_BYTES } from './crl.js';
export { collateralFacts, type CollateralFacts } from './facts.js';
export { collateralFromPcsResponses, type PcsResponses } from './from-pcs.js';
export { FileCollateralSource } from './file-source.js';
export { PccsCollateralSource, type PccsCollateralSourceOptions, type PccsStatus } from './pccs-source.js';
