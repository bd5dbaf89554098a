/** The gateway's public surface (the CLI wires `registerGatewayCommand`). */
export type { Health } from './admin.js';
export type { CertificateVerify } from './appraiser.js';
export { type GatewayConfig, type GatewayLimits, loadGatewayConfig, parseGatewayConfig } from './config/config.js';
export { type PeerFacts, peerFacts } from './forward/facts.js';
export { encodeProxyV2 } from './forward/proxy-protocol.js';
export { type Gateway, type GatewayLog, type ReloadResult, type StartGatewayOptions, startGateway } from './gateway.js';
export { type RunGatewayOptions, readyLine, registerGatewayCommand, runGateway } from './run.js';
