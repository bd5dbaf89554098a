/** Runs an appraiser so that nothing it does can throw into the socket machinery. */
import { toRatlsError } from '@ratls/evidence';
import { normalizeDecision, TLS_ERRORS } from './errors.js';
import type { Attestation, PeerAppraiser, PeerContext, PeerDecision } from './types.js';

/** Never rejects: a throwing or misbehaving appraiser becomes a reject with a stable code. */
export async function runAppraisal(appraiser: PeerAppraiser, der: Uint8Array, ctx: PeerContext): Promise<PeerDecision> {
  try {
    return normalizeDecision(await appraiser.appraise(der, ctx));
  } catch (e) {
    return appraiserFailed(e);
  }
}

function appraiserFailed(e: unknown): PeerDecision {
  const err = toRatlsError(e, TLS_ERRORS.APPRAISER_FAILED, 'tls');
  return { accept: false, error: { code: err.code, message: err.message } };
}

/**
 * The appraiser's synchronous decision on a cached result, if it has one (`appraiseCached`);
 * undefined means "not decided here: call `runAppraisal`". Never throws: a throwing appraiser
 * becomes a reject with a stable code, as in `runAppraisal`.
 */
export function runCachedAppraisal(
  appraiser: PeerAppraiser,
  der: Uint8Array,
  ctx: Omit<PeerContext, 'signal' | 'peerPublicKey'>,
): PeerDecision | undefined {
  if (!appraiser.appraiseCached) return undefined;
  try {
    const d = appraiser.appraiseCached(der, ctx);
    return d === undefined ? undefined : normalizeDecision(d);
  } catch (e) {
    return appraiserFailed(e);
  }
}

/** Calls `appraiser.reject` if it has one, swallowing anything it throws (auditing must not crash TLS). */
export function recordPreReject(
  appraiser: PeerAppraiser,
  error: { code: string; message: string },
  ctx: Omit<PeerContext, 'signal'>,
): void {
  try {
    appraiser.reject?.(error, ctx);
  } catch {
    // An audit sink failure must not turn a reject into an accept or crash the server.
  }
}

/** The public view of an accepted decision. */
export function toAttestation(d: PeerDecision): Attestation {
  const a: Attestation = {};
  if (d.result) a.result = d.result;
  if (d.decision) a.decision = d.decision;
  if (d.certificate) a.certificate = d.certificate;
  if (d.decision?.accept) a.identity = d.decision.identity;
  if (d.freshness) a.freshness = d.freshness;
  return Object.freeze(a);
}
