/** X.509 chain and CRL helpers shared by the DCAP, SNP and Nitro appraisers. */
export * from './certificate.js';
export * from './chain.js';
export * from './crl.js';
export * from './keys.js';
