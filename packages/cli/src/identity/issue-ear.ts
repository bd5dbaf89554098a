/**
 * EAR attestation-result tokens (draft-ietf-rats-ear-04, JWT serialisation) for a channel-bound
 * decision. The token says what the verifier concluded, for one relying party (`aud`), for a few
 * minutes (`exp`), bound to the enclave's key (`cnf`, RFC 7800): a relying party checks it with any
 * JOSE library against the gateway's JWKS.
 */
import { createPublicKey, randomUUID } from 'node:crypto';
import { x509 } from '@ratls/attester/x509';
import { RatlsError, type TcbStatus } from '@ratls/evidence';
import type { AttestationResult, PeerDecision } from '@ratls/verifier';
import { exportJWK, SignJWT } from 'jose';
import { channelBoundDecision } from './channel-bound-decision.js';
import type { EarKeyRing } from './ear-keys.js';
import { attestedFacts } from './facts.js';

/** draft-ietf-rats-ear-04 §3: the profile of this revision (JSON claim names with underscores). */
export const EAR_PROFILE = 'tag:ietf.org,2026:rats/ear#04';
/** An `eat_nonce` is 8-64 bytes (RFC 9711 §4.1); as text we bound it the same way. */
const MAX_NONCE_CHARS = 88;

export type EarStatus = 'affirming' | 'warning' | 'contraindicated';

/**
 * The AR4SI status of a decision: affirming for an accepted, up-to-date TCB; warning when the
 * policy accepted a TCB that is not up to date (OutOfDate, SWHardeningNeeded, …); contraindicated
 * when the policy rejected.
 * @example earStatus(true, 'OutOfDate') === 'warning'
 */
export function earStatus(accepted: boolean, tcbStatus: TcbStatus | undefined): EarStatus {
  if (!accepted) return 'contraindicated';
  return tcbStatus === undefined || tcbStatus === 'UpToDate' ? 'affirming' : 'warning';
}

function tcbOf(r: AttestationResult): TcbStatus | undefined {
  return r.tee === 'sgx' || r.tee === 'tdx' ? r.tcbStatus : undefined;
}

/**
 * AR4SI trustworthiness vector (draft-ietf-rats-ar4si §2.3): 2 = affirming, 32 = warning tier,
 * 0 = no claim. Executables match the policy's measurements; hardware follows the TCB status;
 * instance identity is the key bound to this connection; configuration is the debug bit.
 */
function trustworthinessVector(r: AttestationResult, status: EarStatus): Record<string, number> {
  return {
    'instance-identity': 2,
    executables: 2,
    hardware: status === 'affirming' ? 2 : 32,
    configuration: r.debug ? 32 : 2,
  };
}

export interface IssueEarRequest {
  decision: PeerDecision;
  peerCertDer: Uint8Array;
  /** The relying party this token is for (a token for one service is useless at another). */
  audience: string;
  /** The gateway's issuer URL or name (`iss`). */
  issuer: string;
  /** Unix milliseconds. */
  at: number;
  ttlSec: number;
  /** The client's nonce, echoed as `eat_nonce`. */
  nonce?: string;
}

/**
 * Signs an EAR JWT with the ring's current key.
 * @example const jwt = await issueEar(ring, { decision, peerCertDer, audience: 'vault', issuer: 'https://gw', at: Date.now(), ttlSec: 900 })
 */
export async function issueEar(ring: EarKeyRing, req: IssueEarRequest): Promise<string> {
  const { decision, policy } = channelBoundDecision(req.decision, req.peerCertDer);
  const key = ring.current();
  if (!key) throw new RatlsError('ERR_IDENTITY_TOKEN_INVALID', 'identity', 'no EAR signing key is current');
  if (req.audience.length === 0 || req.audience.length > 255) {
    throw new RatlsError('ERR_IDENTITY_TOKEN_INVALID', 'identity', 'audience must be 1-255 characters');
  }
  if (req.nonce !== undefined && (req.nonce.length === 0 || req.nonce.length > MAX_NONCE_CHARS)) {
    throw new RatlsError('ERR_IDENTITY_TOKEN_INVALID', 'identity', `nonce must be 1-${MAX_NONCE_CHARS} characters`);
  }
  const r = decision.result;
  const status = earStatus(true, tcbOf(r));
  const iat = Math.floor(req.at / 1000);
  const exp = Math.min(iat + req.ttlSec, r.collateralWindow.notAfter);
  const cnfJwk = await exportJWK(
    createPublicKey({ key: Buffer.from(spkiOf(req.peerCertDer)), format: 'der', type: 'spki' }),
  );
  const facts = attestedFacts(r, policy.policyHash);
  const claims = {
    eat_profile: EAR_PROFILE,
    ear_verifier_id: { developer: 'ratls', build: 'ratls-gateway' },
    cnf: { jwk: cnfJwk },
    ...(req.nonce !== undefined ? { eat_nonce: req.nonce } : {}),
    submods: {
      [policy.identity]: {
        ear_status: status,
        ear_trustworthiness_vector: trustworthinessVector(r, status),
        ear_appraisal_policy_ids: [`sha256:${policy.policyHash}`],
        ear_attester_claims: facts,
      },
    },
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'JWT' })
    .setIssuer(req.issuer)
    .setSubject(policy.identity)
    .setAudience(req.audience)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .setJti(randomUUID())
    .sign(key.privateKey);
}

function spkiOf(certDer: Uint8Array): Uint8Array {
  return new Uint8Array(new x509.X509Certificate(certDer).publicKey.rawData);
}

/**
 * The status of each submodule of a decoded EAR payload, reading draft-04 names and the older
 * dotted ones (`ear.status`) that earlier revisions and existing verifiers emit.
 * @example earStatuses(decodeJwt(token)).payments === 'affirming'
 */
export function earStatuses(payload: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  const submods = payload.submods;
  if (typeof submods !== 'object' || submods === null) return out;
  for (const [name, v] of Object.entries(submods as Record<string, unknown>)) {
    if (typeof v !== 'object' || v === null) continue;
    const m = v as Record<string, unknown>;
    const s = m.ear_status ?? m['ear.status'];
    if (typeof s === 'string') out[name] = s;
  }
  return out;
}
