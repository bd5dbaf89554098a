/**
 * The gateway as an attested server (issue 13): with an `attester:` block, `tls: attested`
 * listeners present a self-renewing certificate whose evidence comes from this process's quote
 * provider, and answer clients' channel challenges with fresh evidence from the same provider
 * (serialized and rate-limited per source by the channel attester's gate; the TLS server only
 * answers after it accepted the client's certificate, ../../verifier channel exchange).
 *
 * Each process that serves listeners opens its own: a single gateway process, or each cluster
 * worker (its own key, certificate and quote; the primary serves no listener and opens none).
 */
import { type AttestedCredentials, createAttestedCredentials, createChannelAttester } from '@ratls/attester';
import type { ChannelAttester } from '@ratls/evidence';
import { openProvider, SIMULATION_WARNING } from '../shared/attester-config.js';
import type { GatewayConfig } from './config/config.js';
import type { GatewayLog } from './log.js';
import type { Credentials } from './state.js';

export interface GatewayAttester {
  /** The credentials in use now (PEM), renewed before they expire. */
  current(): Credentials;
  /** Answers channel challenges on `tls: attested` listeners. */
  readonly channel: ChannelAttester;
  readonly credentials: AttestedCredentials;
  /** Called with the new credentials after each renewal (the listeners' next handshakes use them). */
  onRenewed(fn: (c: Credentials) => void): void;
  /** Stops renewing. */
  close(): void;
}

/**
 * Opens the configured provider and makes the first attested certificate.
 * @example
 * const a = config.attester ? await openGatewayAttester(config.attester, log) : undefined;
 * a?.onRenewed((c) => listener.useCredentials(c));
 */
export async function openGatewayAttester(
  block: NonNullable<GatewayConfig['attester']>,
  log: GatewayLog,
): Promise<GatewayAttester> {
  const provider = await openProvider(block.provider);
  if (block.provider.kind === 'simulated') log('warn', SIMULATION_WARNING, { provider: provider.name });
  const c = block.credentials;
  const credentials = await createAttestedCredentials({
    provider,
    keyType: c.keyType,
    validitySeconds: c.validitySeconds,
    ...(c.renewBeforeSeconds !== undefined ? { renewBeforeSeconds: c.renewBeforeSeconds } : {}),
    subject: 'ratls-gateway',
  });
  let current: Credentials = credentials.secureContextOptions();
  const listeners: Array<(c: Credentials) => void> = [];
  credentials.on('renewed', (r) => {
    current = credentials.secureContextOptions();
    log('info', 'attested credentials renewed', { notAfter: r.notAfter.toISOString(), spkiSha256: r.spkiSha256 });
    for (const fn of listeners) fn(current);
  });
  credentials.on('error', (e) => {
    // The certificate in use stays until it expires; clients then refuse it (certificate validity).
    log('error', 'attested credential renewal failed; the current certificate stays until it expires', {
      code: e.code,
      error: e.message,
    });
  });
  return {
    current: () => current,
    channel: createChannelAttester({ provider }),
    credentials,
    onRenewed: (fn) => {
      listeners.push(fn);
    },
    close: () => credentials.close(),
  };
}
