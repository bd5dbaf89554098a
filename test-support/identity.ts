/**
 * Shared setup for identity tests: a CSR for an enclave's own key, the channel-bound decision the
 * gateway would hand the issuer, and psql / openssl runs against issued files.
 */
import { spawnSync } from 'node:child_process';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { x509 } from '@ratls/attester/x509';
import type { PeerDecision } from '@ratls/verifier';
import { fakeSgxResult, type TestCredentials } from './tls-testkit.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/**
 * A PKCS#10 CSR signed with the enclave's key (asking for `name`, which the issuer ignores).
 * @example const csrDer = await csrFor(enclave)
 */
export async function csrFor(c: TestCredentials, name = 'CN=app_other'): Promise<Uint8Array> {
  const pkcs8 = createPrivateKey(c.key).export({ type: 'pkcs8', format: 'der' });
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', pkcs8, EC, false, ['sign']),
    publicKey: await new x509.X509Certificate(c.der).publicKey.export(EC, ['verify']),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return new Uint8Array(csr.rawData);
}

/**
 * An accepted channel-mode decision naming `identity` for the enclave's certificate.
 * @example await issueCertificate(ca, { csrDer, peerCertDer: enclave.der, decision: channelDecision(enclave), at })
 */
export function channelDecision(c: TestCredentials, identity = 'payments'): PeerDecision {
  return {
    accept: true,
    result: fakeSgxResult('cc'.repeat(32)),
    decision: { accept: true, identity, policyHash: 'dd'.repeat(32), reasons: [] },
    certificate: { fingerprintSha256: c.fingerprint, notBefore: 0, notAfter: 0, subject: 'CN=enclave', formats: [] },
    freshness: 'channel',
  };
}

/** psql with a client certificate: one copy, in ./postgres.ts. */
export { psqlWithCert } from './postgres.js';

/** True when the openssl binary runs (it is in `.ci/run`'s install line). */
export const HAVE_OPENSSL = spawnSync('openssl', ['version'], { timeout: 10_000 }).status === 0;

/**
 * `openssl verify -CAfile root [-untrusted chain] leaf` with the X.509 purpose left to the
 * relying party; returns status and combined output.
 * @example opensslVerify(rootPem, [intermediatePem], leafPem).status === 0
 */
export function opensslVerify(
  caFile: string,
  untrusted: string | undefined,
  leaf: string,
  at?: number,
): { status: number | null; out: string } {
  const args = ['verify', '-CAfile', caFile, ...(untrusted ? ['-untrusted', untrusted] : [])];
  if (at !== undefined) args.push('-attime', String(Math.floor(at / 1000)));
  const r = spawnSync('openssl', [...args, leaf], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}
