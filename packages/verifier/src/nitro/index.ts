export { type NitroChainResult, verifyNitroChain } from './certs.js';
export { AWS_NITRO_ROOT_G1_SHA256, awsNitroRootG1 } from './root.js';
export { coseSign1ToBeSigned } from './sig-structure.js';
export { type VerifyNitroOptions, verifyNitroDocument, verifyNitroSignature } from './verify.js';
