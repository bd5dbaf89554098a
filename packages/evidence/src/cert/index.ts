export * from './oids.js';
export * from './spki-hash.js';
export * from './dice-claims.js';
export * from './dice-tagged.js';
