/** Channel-bound fresh attestation: the exchange after the handshake and its verification. */
export { type ChannelExchangeOptions, type ChannelIo, type ChannelOutcome, runChannelExchange } from './exchange.js';
export { type ChannelOptions, DEFAULT_CHANNEL_TIMEOUT_MS } from './options.js';
export { enclaveDifference } from './same-enclave.js';
export { type ChannelVerifyOptions, channelVerify } from './verify.js';
