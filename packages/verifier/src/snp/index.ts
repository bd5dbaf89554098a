export { VerifiedChainCache } from '../cache/lru.js';
export { type SnpChainInput, type SnpChainOptions, type SnpChainResult, verifySnpChain } from './chain.js';
export { checkSnpChipId, checkSnpReportHeader, checkSnpTcbMatchesCert, verifySnpReportSignature } from './checks.js';
export type { SnpCollateralSource, SnpVcekRequest } from './collateral.js';
export { checkSnpRevocation, SNP_MAX_CRL, type SnpCrlFacts, verifySnpCrl } from './crl.js';
export { AMD_KDS_URL, KdsCollateralSource, type KdsCollateralSourceOptions, type KdsStatus } from './kds.js';
export { bundleKdsSource } from './kds-bundle.js';
export { AMD_ARK_SHA256, amdArkDer, amdIntermediateDer } from './roots.js';
export { amdArkAnchors, type VerifySnpOptions, verifySnpReport } from './verify.js';
