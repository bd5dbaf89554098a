import { createHash, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import {
  AppraisalError,
  BindingError,
  bytesEqual,
  isAllZero,
  type NitroDocument,
  parseNitroDocument,
  toHex,
} from '@ratls/evidence';
import { VerifiedChainCache } from '../cache/lru.js';
import { markVerified, type NitroResult } from '../result.js';
import { atSeconds, isoFromSeconds, secondsFromMs } from '../time.js';
import { type TrustAnchor, type TrustAnchorInput, toTrustAnchors } from '../trust.js';
import { type NitroChainResult, verifyNitroChain } from './certs.js';
import { awsNitroRootG1 } from './root.js';
import { coseSign1ToBeSigned } from './sig-structure.js';

export interface VerifyNitroOptions {
  /** Verification time: a Date or unix seconds. */
  at: Date | number;
  /** Roots to accept as cabundle[0] (PEM, DER or TrustAnchor). Default: the AWS Nitro root G1 only. */
  trustAnchors?: TrustAnchorInput[];
  /** When given, the document's nonce must equal it. */
  expectedNonce?: Uint8Array;
  /** Reuse verified cabundle chains across calls (re-checked against `at` and the anchors on every hit). */
  chainCache?: VerifiedChainCache;
}

function cachedChain(
  doc: NitroDocument,
  at: number,
  anchors: TrustAnchor[],
  cache: VerifiedChainCache | undefined,
): NitroChainResult {
  if (!cache) return verifyNitroChain(doc.certificate, doc.cabundle, at, anchors);
  const key = VerifiedChainCache.key('nitro-chain', [...doc.cabundle, doc.certificate]);
  const hit = cache.getAs<NitroChainResult>(key);
  if (!hit) {
    const fresh = verifyNitroChain(doc.certificate, doc.cabundle, at, anchors);
    cache.set(key, fresh);
    return fresh;
  }
  const root = doc.cabundle[0] as Uint8Array;
  const anchor = anchors.find((a) => bytesEqual(a.der, root));
  if (!anchor) {
    throw new AppraisalError(
      'ERR_NITRO_ROOT_UNTRUSTED',
      'nitro-chain',
      'nitro certificate chain: cabundle[0] is not a configured trust anchor',
    );
  }
  const w = hit.window;
  if (at < w.notBefore || at > w.notAfter) {
    throw new AppraisalError(
      'ERR_NITRO_CERT_EXPIRED',
      'nitro-chain',
      `nitro certificate chain: valid ${isoFromSeconds(w.notBefore)} to ${isoFromSeconds(w.notAfter)}, not at ${isoFromSeconds(at)}`,
    );
  }
  return { ...hit, anchor };
}

function anchorsFrom(list: VerifyNitroOptions['trustAnchors']): TrustAnchor[] {
  if (!list || list.length === 0) return [awsNitroRootG1()];
  return toTrustAnchors(list);
}

/** ES384 over the Sig_structure (RFC 9052 §4.4; RFC 9053 §2.1: raw r‖s). */
export function verifyNitroSignature(doc: NitroDocument, key: KeyObject): void {
  let ok = false;
  try {
    ok = cryptoVerify(
      'sha384',
      coseSign1ToBeSigned(doc.protectedHeader, doc.payload),
      { key, dsaEncoding: 'ieee-p1363' },
      doc.signature,
    );
  } catch (e) {
    throw new AppraisalError('ERR_NITRO_SIGNATURE', 'nitro-signature', 'nitro document: signature check failed', {
      cause: e,
    });
  }
  if (!ok) {
    throw new AppraisalError(
      'ERR_NITRO_SIGNATURE',
      'nitro-signature',
      'nitro document: COSE_Sign1 ES384 signature does not verify under the leaf certificate key',
    );
  }
}

/**
 * Appraises an AWS Nitro Enclaves attestation document: parse, certificate chain to the pinned
 * AWS Nitro root at `at`, COSE_Sign1 signature by the leaf, document timestamp inside the leaf's
 * validity, nonce (when expected). Debug mode is reported (PCR0 all zero), not refused: that is policy.
 *
 * @example
 * const r = await verifyNitroDocument(docBytes, { at: new Date() });
 * console.log(r.measurements.pcrs['0'], r.debug);
 */
export async function verifyNitroDocument(docBytes: Uint8Array, opts: VerifyNitroOptions): Promise<NitroResult> {
  const at = atSeconds(opts.at, 'nitro');
  const doc = parseNitroDocument(docBytes);
  const chain = cachedChain(doc, at, anchorsFrom(opts.trustAnchors), opts.chainCache);
  verifyNitroSignature(doc, chain.leafKey);
  const ts = secondsFromMs(doc.timestamp);
  if (ts < chain.window.notBefore || ts > chain.window.notAfter) {
    throw new AppraisalError(
      'ERR_NITRO_TIMESTAMP',
      'nitro-document',
      `nitro document: timestamp ${new Date(doc.timestamp).toISOString()} is outside its certificate chain's validity`,
    );
  }
  if (opts.expectedNonce && (!doc.nonce || !bytesEqual(doc.nonce, opts.expectedNonce))) {
    throw new BindingError(
      'ERR_NITRO_NONCE_MISMATCH',
      'nitro-binding',
      doc.nonce
        ? 'nitro document: nonce differs from the expected nonce'
        : 'nitro document: no nonce, but one was expected',
    );
  }
  const pcrs: Record<string, string> = {};
  for (const [i, v] of doc.pcrs) pcrs[String(i)] = toHex(v);
  const pcr0 = doc.pcrs.get(0);
  const result: NitroResult = {
    tee: 'nitro',
    simulated: chain.anchor.simulated,
    evidenceSha256: createHash('sha256').update(docBytes).digest('hex'),
    // Nitro debug-mode enclaves report PCR0-2 as zeros (AWS Nitro Enclaves docs, "Debug mode").
    debug: pcr0 === undefined || isAllZero(pcr0),
    collateralWindow: chain.window,
    measurements: {
      moduleId: doc.moduleId,
      digest: doc.digest,
      pcrs,
      ...(doc.userData ? { userData: toHex(doc.userData) } : {}),
      ...(doc.publicKey ? { publicKey: toHex(doc.publicKey) } : {}),
      ...(doc.nonce ? { nonce: toHex(doc.nonce) } : {}),
      timestamp: ts,
    },
  };
  return markVerified(result);
}
