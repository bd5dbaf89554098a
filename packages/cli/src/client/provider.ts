/**
 * The attester behind `ratls client` and `ratls attest`: the detected TEE interface, Nitro's NSM,
 * or a simulation (asked for by name only, never detected), and the one fact about it the client
 * acts on: whether loopback TCP is inside the TEE.
 */
import type { QuoteProvider } from '@ratls/attester';
import { ConfigError } from '@ratls/evidence';
import type { ClientListenerConfig } from './config.js';

// Opening the attester is shared with the gateway and `ratls attest`: one implementation.
export { openProvider, SIMULATION_WARNING } from '../shared/attester-config.js';

/**
 * Whether loopback TCP is inside the TEE. An SGX enclave (Gramine, the only SGX provider, and
 * the simulated SGX provider that stands for it) shares the host's network stack: the host
 * kernel carries 127.0.0.1, so any host process could connect to a loopback listener and use
 * the tunnel as the enclave. TDX and SEV-SNP guests and Nitro enclaves run their own kernel in
 * protected memory, so their loopback is inside the TEE.
 * @example loopbackInsideTee(provider) // false under Gramine
 */
export function loopbackInsideTee(p: Pick<QuoteProvider, 'tee'>): boolean {
  return p.tee !== 'sgx';
}

/**
 * Refuses TCP listeners where loopback is outside the TEE, unless `allowHostLoopback` asks for
 * them; returns the loud warnings for those that did.
 * @example for (const w of checkLoopback(config.listeners, provider)) log('warn', w)
 */
export function checkLoopback(listeners: readonly ClientListenerConfig[], p: Pick<QuoteProvider, 'tee'>): string[] {
  if (loopbackInsideTee(p)) return [];
  const warnings: string[] = [];
  for (const l of listeners) {
    if (l.listen.kind !== 'tcp') continue;
    if (!l.allowHostLoopback)
      throw new ConfigError(
        'ERR_CLIENT_HOST_LOOPBACK',
        'config',
        `${l.listenAt}: TCP on loopback is outside the TEE under ${p.tee.toUpperCase()} (the host carries 127.0.0.1 and could use this tunnel as the enclave); listen on unix:/path in the enclave's file system, or set allowHostLoopback: true if the host is trusted`,
      );
    warnings.push(
      `WARNING: listener ${l.name} listens on TCP ${l.listen.host}:${l.listen.port}, which is OUTSIDE the ${p.tee.toUpperCase()} enclave: any process on the host can connect and speak as this enclave (allowHostLoopback: true)`,
    );
  }
  return warnings;
}
