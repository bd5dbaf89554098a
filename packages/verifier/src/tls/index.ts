export * from './types.js';
export * from './errors.js';
export * from './peer-verifier-core.js';
export * from './server.js';
export * from './https.js';
export * from './client.js';
export * from './agent.js';
export * from './dispatcher.js';
