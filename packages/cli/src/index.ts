/**
 * The `ratls` package as a library: the command line (`main`, `buildProgram`), its version, and
 * the gateway for embedding. The `ratls` binary (bin/ratls.mjs) runs `main`.
 *
 * @example
 * import { main, startGateway } from 'ratls';
 * process.exitCode = await main(['node', 'ratls', 'inspect', 'cert.pem']);
 * const gw = await startGateway('/etc/ratls/gateway.yaml');
 */
export type { CommandContext } from './context.js';
export {
  type CertificateVerify,
  encodeProxyV2,
  type Gateway,
  type GatewayConfig,
  type GatewayLimits,
  type GatewayLog,
  type Health,
  loadGatewayConfig,
  type PeerFacts,
  parseGatewayConfig,
  peerFacts,
  type ReloadResult,
  type RunGatewayOptions,
  readyLine,
  registerGatewayCommand,
  runGateway,
  type StartGatewayOptions,
  startGateway,
} from './gateway/index.js';
export * from './identity/index.js';
export { buildProgram, main } from './main.js';
export { RATLS_VERSION } from './version.js';
