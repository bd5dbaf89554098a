/** `ratls client`'s public surface (the CLI wires `registerClient` in commands/client.ts). */
export { type Client, type ClientState, type StartClientOptions, startClient } from './client.js';
export {
  type ClientConfig,
  type ClientListenerConfig,
  type LocalAddress,
  loadClientConfig,
  parseClientConfig,
} from './config.js';
export { type AfterHandshake, certificateMode } from './freshness.js';
export { checkLoopback, loopbackInsideTee, openProvider } from './provider.js';
export { clientReadyLine, type RunClientOptions, runClient } from './run.js';
