/** Channel mode, attester side: fresh evidence bound to the TLS connection, behind a rate-limited gate. */
export { type AnswerChannelOptions, answerChannelChallenges } from './answer-challenges.js';
export { type ChannelAttesterOptions, createChannelAttester } from './channel-attester.js';
export { QuoteGate, type QuoteGateOptions } from './quote-gate.js';
