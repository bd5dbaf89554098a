/**
 * Issues an X.509-SVID-style certificate (SPIFFE X.509-SVID §3-§5) for an enclave's own attested
 * TLS key, from a decision the verifier made under `freshness: channel`.
 *
 * Why channel mode only: a certificate-mode decision proves the key was born in an enclave, not
 * that the enclave still holds it alone; whoever stole the key could renew identities forever.
 * Why the CSR key must be the attested key: the issued certificate then names exactly the key the
 * fresh evidence bound to this connection. Everything the CSR asks for besides its key (names,
 * extensions, lifetime) is ignored; the policy's identity and the authority's TTLs decide.
 */
import { x509 } from '@ratls/attester/x509';
import { RatlsError } from '@ratls/evidence';
import type { PeerDecision } from '@ratls/verifier';
import type { IdentityAuthority } from './authority.js';
import { channelBoundDecision } from './channel-bound-decision.js';
import { attestedFacts, derUtf8String, type FactName, factOids } from './facts.js';
import { newSerial } from './serial.js';
import { spiffeId } from './spiffe-id.js';

/** A CSR is a few hundred bytes; anything far larger is refused before parsing. */
export const MAX_CSR_BYTES = 16 * 1024;
/** Backdating tolerates relying parties whose clocks are slightly behind the gateway's. */
const BACKDATE_MS = 30_000;

export interface IssueCertificateRequest {
  /** The PKCS#10 request (DER) from the peer. */
  csrDer: Uint8Array;
  /** The peer's TLS certificate (DER) on the connection that carried the request. */
  peerCertDer: Uint8Array;
  /** The final decision for that connection (after the channel step). */
  decision: PeerDecision;
  /** Issuance time, Unix milliseconds. */
  at: number;
  /** The identity's own `maxTtl` (seconds), when the configuration sets one. */
  identityMaxTtlSec?: number;
}

export interface IssuedCertificate {
  identity: string;
  spiffeId: string;
  /** Hex, as audit events record it. */
  serial: string;
  /** Unix seconds. */
  notBefore: number;
  notAfter: number;
  certDer: Uint8Array;
  /** Leaf then the authority's chain, PEM (what `sslcert` points at). */
  chainPem: string;
}

function refuse(
  code: 'ERR_IDENTITY_DECISION_INVALID' | 'ERR_IDENTITY_CSR_INVALID' | 'ERR_IDENTITY_KEY_MISMATCH',
  msg: string,
  cause?: unknown,
): RatlsError {
  return new RatlsError(code, 'identity', msg, cause === undefined ? undefined : { cause });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function parseCsr(der: Uint8Array): x509.Pkcs10CertificateRequest {
  if (der.byteLength === 0 || der.byteLength > MAX_CSR_BYTES) {
    throw refuse('ERR_IDENTITY_CSR_INVALID', `CSR is ${der.byteLength} bytes (1-${MAX_CSR_BYTES} accepted)`);
  }
  try {
    return new x509.Pkcs10CertificateRequest(der);
  } catch (e) {
    throw refuse('ERR_IDENTITY_CSR_INVALID', 'CSR is not a DER PKCS#10 CertificationRequest', e);
  }
}

/**
 * Issues the certificate chain, or throws a RatlsError with an `ERR_IDENTITY_*` code.
 * @example const { chainPem, serial } = await issueCertificate(ca, { csrDer, peerCertDer, decision, at: Date.now() })
 */
export async function issueCertificate(
  ca: IdentityAuthority,
  req: IssueCertificateRequest,
): Promise<IssuedCertificate> {
  const { decision, policy } = channelBoundDecision(req.decision, req.peerCertDer);
  const csr = parseCsr(req.csrDer);
  let selfSigned: boolean;
  try {
    selfSigned = await csr.verify();
  } catch (e) {
    throw refuse('ERR_IDENTITY_CSR_INVALID', 'CSR signature cannot be checked', e);
  }
  if (!selfSigned) throw refuse('ERR_IDENTITY_CSR_INVALID', 'CSR self-signature does not verify');
  let peerSpki: Uint8Array;
  try {
    peerSpki = new Uint8Array(new x509.X509Certificate(req.peerCertDer).publicKey.rawData);
  } catch (e) {
    throw refuse('ERR_IDENTITY_DECISION_INVALID', 'the presented certificate cannot be read', e);
  }
  if (!sameBytes(new Uint8Array(csr.publicKey.rawData), peerSpki)) {
    throw refuse('ERR_IDENTITY_KEY_MISMATCH', "the CSR's public key is not the attested TLS key of this connection");
  }

  const identity = policy.identity;
  const id = spiffeId(ca.trustDomain, identity);
  const ttlSec = Math.min(req.identityMaxTtlSec ?? ca.defaultTtlSec, ca.defaultTtlSec, ca.maxTtlSec);
  // Never outlive the issuing CA nor the collateral the appraisal relied on.
  const notAfterMs = Math.min(
    req.at + ttlSec * 1000,
    ca.caCert.notAfter.getTime(),
    decision.result.collateralWindow.notAfter * 1000,
  );
  const notBeforeMs = req.at - BACKDATE_MS;
  if (notAfterMs <= req.at) {
    throw refuse(
      'ERR_IDENTITY_DECISION_INVALID',
      'the CA or the collateral expires before a certificate could be valid',
    );
  }
  const facts = attestedFacts(decision.result, policy.policyHash);
  const oids = factOids(ca.factsArc);
  const factExtensions = (Object.keys(oids) as FactName[]).flatMap((k) => {
    const v = facts[k];
    return v === undefined ? [] : [new x509.Extension(oids[k], false, derUtf8String(v))];
  });
  const publicKey = csr.publicKey;
  const serial = newSerial();
  // X.509-SVID §4.3/§4.4: leaf has cA=false, digitalSignature, never keyCertSign/cRLSign; §2: one URI SAN.
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: new x509.Name([{ CN: [identity] }]),
    issuer: ca.caCert.subjectName,
    notBefore: new Date(notBeforeMs),
    notAfter: new Date(notAfterMs),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    publicKey,
    signingKey: ca.signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }]),
      await x509.SubjectKeyIdentifierExtension.create(await publicKey.export()),
      await x509.AuthorityKeyIdentifierExtension.create(ca.caCert),
      ...factExtensions,
    ],
  });
  const certDer = new Uint8Array(cert.rawData);
  const chainPem = [certDer, ...ca.chainDer]
    .map((d) => x509.PemConverter.encode(d.slice().buffer, 'CERTIFICATE'))
    .join('\n');
  return {
    identity,
    spiffeId: id,
    serial,
    notBefore: Math.floor(cert.notBefore.getTime() / 1000),
    notAfter: Math.floor(cert.notAfter.getTime() / 1000),
    certDer,
    chainPem: `${chainPem}\n`,
  };
}
