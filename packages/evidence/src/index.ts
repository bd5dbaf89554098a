/** @ratls/evidence: pure parsing and encoding of attestation evidence. No I/O. */

export * from './asn1/index.js';
export * from './bytes.js';
export * from './cert/index.js';
export * from './channel/index.js';
export * from './dcap-formats.js';
export * from './error-codes.js';
export * from './errors.js';
export * from './hash.js';
export * from './nitro/index.js';
export * from './node-x509.js';
export * from './quote/index.js';
export * from './quote/types.js';
export * from './simulation.js';
export * from './snp/index.js';
