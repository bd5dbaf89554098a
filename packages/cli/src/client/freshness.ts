/**
 * The freshness seam of `ratls client`: what runs after the TLS connection to the server is up
 * and its certificate accepted, and before the first byte of the local program is piped. In
 * certificate mode the certificate decision is the whole decision, so the step does nothing.
 * Channel mode (issue 13: a verifier nonce answered by fresh evidence bound to this connection's
 * exporter, and the server's own challenge answered) plugs in here: a rejecting step destroys the
 * connection and nothing of the local program reaches the server.
 */
import type { TLSSocket } from 'node:tls';

/** Resolves when the connection may carry application bytes; rejects (typed error) when not. */
export type AfterHandshake = (socket: TLSSocket, ctx: { listener: string }) => Promise<void>;

/**
 * Certificate mode: nothing more to prove after the certificate decision.
 * @example await certificateMode(tlsSocket, { listener: 'redis' })
 */
export const certificateMode: AfterHandshake = async () => {};
