/**
 * The one gate in front of every identity (certificate or token): an accepted decision, with a
 * verified result, made under `freshness: channel`, on the certificate the peer presents.
 */
import { createHash } from 'node:crypto';
import { RatlsError } from '@ratls/evidence';
import { type AttestationResult, isVerifiedResult, type PeerDecision } from '@ratls/verifier';

export interface ChannelBound {
  decision: PeerDecision & { result: AttestationResult };
  policy: { identity: string; policyHash: string };
}

/**
 * Returns the decision's parts, or throws ERR_IDENTITY_DECISION_INVALID / ERR_IDENTITY_NOT_CHANNEL_BOUND.
 * @example const { policy } = channelBoundDecision(socketDecision, peerCertDer)
 */
export function channelBoundDecision(decision: PeerDecision, peerCertDer: Uint8Array): ChannelBound {
  const policy = decision.decision;
  const result = decision.result;
  if (!decision.accept || !policy?.accept || !isVerifiedResult(result)) {
    throw new RatlsError(
      'ERR_IDENTITY_DECISION_INVALID',
      'identity',
      'no accepted decision with a verified attestation result',
    );
  }
  // A certificate-mode decision proves the key was born in an enclave, not that the enclave still
  // holds it alone: whoever stole the key could renew identities forever.
  if (decision.freshness !== 'channel') {
    throw new RatlsError(
      'ERR_IDENTITY_NOT_CHANNEL_BOUND',
      'identity',
      `identity ${policy.identity} was accepted under freshness ${decision.freshness ?? 'certificate'}; identities are issued only under freshness: channel`,
    );
  }
  const fp = createHash('sha256').update(peerCertDer).digest('hex');
  if (decision.certificate?.fingerprintSha256 !== fp) {
    throw new RatlsError(
      'ERR_IDENTITY_DECISION_INVALID',
      'identity',
      'the presented certificate is not the one the decision was made on',
    );
  }
  return { decision: { ...decision, result }, policy: { identity: policy.identity, policyHash: policy.policyHash } };
}
