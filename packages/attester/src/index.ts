/** @ratls/attester: runs inside the TEE. Key generation, quote providers, RA-TLS certificates. */

export * from './channel/index.js';
export * from './credentials/index.js';
export * from './providers/index.js';
export * from './providers/types.js';
