/** The gateway's public surface (the CLI wires `registerGatewayCommand`). */
export { type GatewayConfig, type GatewayLimits, loadGatewayConfig, parseGatewayConfig } from './config.js';
export { type PeerFacts, peerFacts } from './facts.js';
export { type Gateway, type ReloadResult, type StartGatewayOptions, startGateway } from './gateway.js';
export { encodeProxyV2 } from './proxy-protocol.js';
export { type RunGatewayOptions, readyLine, registerGatewayCommand, runGateway } from './run.js';
