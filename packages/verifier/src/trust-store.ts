/**
 * The one trust store: the configured roots of every vendor, in the one anchor shape. Appraisal
 * (certificate verification, DCAP, SEV-SNP, Nitro), the peer verifier, the TLS wrappers and the
 * gateway all take it as `trust`. A vendor left out gets its real, pinned production roots; a
 * simulated root is trusted only when it is named here.
 */

import { awsNitroRootG1 } from './nitro/root.js';
import { amdArkAnchors } from './snp/verify.js';
import { defaultTrustAnchors, type TrustAnchor, type TrustAnchorInput, toTrustAnchors } from './trust.js';

/** Trusted roots per vendor: Intel SGX Root CA (SGX, TDX), AMD ARKs (SEV-SNP), AWS Nitro root (Nitro). */
export interface TrustStore {
  intel: TrustAnchor[];
  amd: TrustAnchor[];
  aws: TrustAnchor[];
}

/** What callers may pass as `trust`: any vendor may be left out (its built-in roots apply). */
export type TrustStoreInput = Partial<TrustStore>;

/**
 * The options that name anchors: `trust`, and the older per-vendor names it replaces (still
 * honoured where `trust` leaves a vendor out).
 */
export interface TrustOptions {
  trust?: TrustStoreInput;
  /** Intel roots (older name of `trust.intel`). */
  trustAnchors?: TrustAnchor[];
  /** Nitro roots (older name of `trust.aws`), PEM, DER or anchors. */
  nitroTrustAnchors?: TrustAnchorInput[];
  /** SEV-SNP options; `snp.trustAnchors` is the older name of `trust.amd`. */
  snp?: { trustAnchors?: TrustAnchorInput[] };
}

/**
 * A complete trust store: the given roots, the real vendor roots for any vendor not given.
 * @example
 * const trust = trustStore({ intel: [trustAnchorFrom(readFileSync('sim/root.pem', 'utf8'))] });
 * const verifier = createPeerVerifier({ policy, collateralSource, trust });
 */
export function trustStore(input: TrustStoreInput = {}): TrustStore {
  return {
    intel: input.intel ?? defaultTrustAnchors(),
    amd: input.amd && input.amd.length > 0 ? input.amd : amdArkAnchors(),
    aws: input.aws && input.aws.length > 0 ? input.aws : [awsNitroRootG1()],
  };
}

/**
 * Edge conversion from PEM text or DER bytes per vendor (configuration files, CLI flags).
 * @example const trust = trustStoreFrom({ amd: [arkPem], aws: [nitroRootDer] });
 */
export function trustStoreFrom(input: {
  intel?: readonly TrustAnchorInput[];
  amd?: readonly TrustAnchorInput[];
  aws?: readonly TrustAnchorInput[];
}): TrustStore {
  return trustStore({
    ...(input.intel ? { intel: toTrustAnchors(input.intel) } : {}),
    ...(input.amd ? { amd: toTrustAnchors(input.amd) } : {}),
    ...(input.aws ? { aws: toTrustAnchors(input.aws) } : {}),
  });
}

/**
 * The trust store options name: `trust` first, then the older per-vendor options, then the
 * built-in roots. An empty Intel list stays empty (nothing is trusted), as `trustAnchors: []` did.
 * @example const { intel, amd, aws } = resolveTrustStore({ trustAnchors: [simRoot] });
 */
export function resolveTrustStore(o: TrustOptions): TrustStore {
  // Already a complete store (createPeerVerifier resolves once and passes it on): the same
  // answer trustStore() would give, without building it again on every decision.
  const t = o.trust;
  if (t?.intel && t.amd && t.amd.length > 0 && t.aws && t.aws.length > 0)
    return { intel: t.intel, amd: t.amd, aws: t.aws };
  const amd = o.trust?.amd ?? (o.snp?.trustAnchors ? toTrustAnchors(o.snp.trustAnchors) : undefined);
  const aws = o.trust?.aws ?? (o.nitroTrustAnchors ? toTrustAnchors(o.nitroTrustAnchors) : undefined);
  const intel = o.trust?.intel ?? o.trustAnchors;
  return trustStore({ ...(intel ? { intel } : {}), ...(amd ? { amd } : {}), ...(aws ? { aws } : {}) });
}
