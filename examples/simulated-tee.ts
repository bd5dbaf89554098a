/**
 * What every example needs: a SIMULATED Intel SGX platform (root, collateral) in a temporary
 * folder, RA-TLS certificates for enclaves of chosen measurements, and a verifier that trusts
 * that simulated root and accepts one measurement. On real hardware the certificate comes from
 * a quote provider inside the enclave and the verifier trusts the real Intel root (the default).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRaTlsCertificate, exportPrivateKeyPem, generateKeyPair } from '@ratls/attester';
import { initSimulation, type SimState, SimulatedQuoteProvider } from '@ratls/sim';
import { createPeerVerifier, FileCollateralSource, type PeerVerifier, parsePolicy, trustAnchorFrom } from '@ratls/verifier';

/** A made-up MRENCLAVE per label (a real one is the hash of the enclave's code). */
export const measurement = (label: string): string => createHash('sha256').update(label).digest('hex');

export interface Enclave {
  cert: string;
  key: string;
}

export interface SimulatedTee {
  dir: string;
  sim: SimState;
  /** An RA-TLS certificate and key for an enclave with this MRENCLAVE. */
  enclave(name: string, mrEnclave: string): Promise<Enclave>;
  /** A verifier that accepts only `mrEnclave`, as identity `name`. */
  verifierFor(name: string, mrEnclave: string): PeerVerifier;
  close(): void;
}

export async function simulatedTee(): Promise<SimulatedTee> {
  const dir = mkdtempSync(join(tmpdir(), 'ratls-example-'));
  const sim = await initSimulation(join(dir, 'sim'));
  return {
    dir,
    sim,
    async enclave(name, mrEnclave) {
      const keyPair = await generateKeyPair('P-256');
      const provider = new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave, mrSigner: measurement('signer') });
      const c = await buildRaTlsCertificate({ keyPair, provider, subject: name, altNames: ['localhost'] });
      return { cert: c.pem, key: exportPrivateKeyPem(keyPair) };
    },
    verifierFor(name, mrEnclave) {
      const policy = parsePolicy(
        // simulated: true because this platform is simulated; never in a production policy.
        `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: ${name}\n    sgx: { mrEnclave: ["${mrEnclave}"] }\n`,
        { source: `${name} policy` },
      );
      return createPeerVerifier({
        policy,
        trustAnchors: [trustAnchorFrom(readFileSync(join(dir, 'sim', 'root.pem'), 'utf8'))],
        collateralSource: new FileCollateralSource([join(dir, 'sim', 'collateral.json')]),
      });
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}
