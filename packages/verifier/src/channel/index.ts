/** Channel-bound fresh attestation: the exchange after the handshake and its verification. */

export { enclaveDifference } from '../decide/same-enclave.js';
export { type ChannelExchangeOptions, type ChannelIo, type ChannelOutcome, runChannelExchange } from './exchange.js';
export { type ChannelOptions, DEFAULT_CHANNEL_TIMEOUT_MS } from './options.js';
export { type ChannelVerifyOptions, channelVerify } from './verify.js';
