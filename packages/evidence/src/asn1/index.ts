/** The one ASN.1 stack of ratls: DER, PEM, time, X.509 parts and CRLs (see docs/security.md, parsing). */
export * from './crl.js';
export * from './der.js';
export * from './der-write.js';
export * from './name.js';
export * from './oid.js';
export * from './pem.js';
export * from './time.js';
export * from './x509.js';
