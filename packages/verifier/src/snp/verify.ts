import { createHash } from 'node:crypto';
import {
  bytesEqual,
  CollateralError,
  ConfigError,
  parseSnpCertTable,
  parseSnpReport,
  parseVcekExtensions,
  SNP_PRODUCTS,
  type SnpCertTable,
  type SnpProduct,
  type SnpReport,
  snpProductFromName,
  snpReportFromText,
  toHex,
  type VcekExtensions,
} from '@ratls/evidence';
import { VerifiedChainCache } from '../cache/lru.js';
import { markVerified, type SnpResult } from '../result.js';
import { atSeconds } from '../time.js';
import { type TrustAnchor, type TrustAnchorInput, toTrustAnchors, trustAnchorFrom } from '../trust.js';
import { type SnpChainResult, verifySnpChain } from './chain.js';
import { checkSnpChipId, checkSnpReportHeader, checkSnpTcbMatchesCert, verifySnpReportSignature } from './checks.js';
import type { SnpCollateralSource } from './collateral.js';
import { checkSnpRevocation } from './crl.js';
import { amdArkDer, amdIntermediateDer } from './roots.js';
import { chainError, iso, parseCert, splitPem, toDer } from './x509util.js';

export interface VerifySnpOptions {
  /** Verification time: a Date or unix seconds. */
  at: Date | number;
  /** The signing certificate (VCEK or VLEK), DER bytes or PEM text. */
  vcek?: Uint8Array | string;
  /** PEM chain as KDS `cert_chain` serves it: ASK (or ASVK) first, then ARK. */
  chain?: string;
  /** configfs-tsm `auxblob` (SNP certificate table); its certificates are used when present. */
  aux?: Uint8Array;
  /** The product line the caller expects. */
  product?: SnpProduct;
  /** Where to fetch a VCEK or chain that was not supplied. */
  kds?: SnpCollateralSource;
  /** Accepted ARKs (PEM, DER or TrustAnchor). Default: the built-in AMD ARKs (Milan, Genoa, Turin). */
  trustAnchors?: TrustAnchorInput[];
  /** AMD CRL (DER, from KDS `/{vcek|vlek}/v1/{product}/crl`): when given, it must be signed by the ARK,
   * current at `at`, and revoke neither the ASK/ASVK nor the VCEK/VLEK. */
  crl?: Uint8Array;
  /** Reuse verified VCEK chains across calls (re-checked against `at` and the anchors on every hit). */
  chainCache?: VerifiedChainCache;
}

interface CachedSnpChain {
  chain: SnpChainResult;
}

/** A cache hit is still checked against this call's anchors, product and time. */
function revalidate(
  hit: CachedSnpChain,
  root: Uint8Array,
  anchors: TrustAnchor[],
  product: SnpProduct | undefined,
  at: number,
): SnpChainResult {
  const anchor = anchors.find((a) => bytesEqual(a.der, root));
  if (!anchor) throw chainError('ERR_SNP_ARK_UNTRUSTED', `ARK-${hit.chain.product} is not a configured trust anchor`);
  if (product && product !== hit.chain.product) {
    throw chainError(
      'ERR_SNP_PRODUCT_MISMATCH',
      `certificate chain is for ${hit.chain.product}, but ${product} was requested`,
    );
  }
  const w = hit.chain.window;
  if (at < w.notBefore || at > w.notAfter) {
    throw chainError(
      'ERR_SNP_CERT_EXPIRED',
      `SNP certificate chain is valid ${iso(w.notBefore)} to ${iso(w.notAfter)}, not at ${iso(at)}`,
    );
  }
  return { ...hit.chain, anchor };
}

let builtinArks: TrustAnchor[] | undefined;
/** The built-in production ARKs as trust anchors. */
export function amdArkAnchors(): TrustAnchor[] {
  builtinArks ??= SNP_PRODUCTS.map((p) => trustAnchorFrom(amdArkDer(p)));
  return builtinArks;
}

function anchorsFrom(list: VerifySnpOptions['trustAnchors']): TrustAnchor[] {
  if (!list || list.length === 0) return amdArkAnchors();
  return toTrustAnchors(list);
}

async function signingCert(
  report: SnpReport,
  kind: 'vcek' | 'vlek',
  product: SnpProduct | undefined,
  table: SnpCertTable | undefined,
  o: VerifySnpOptions,
): Promise<Uint8Array> {
  if (o.vcek !== undefined) return toDer(o.vcek, kind.toUpperCase());
  const fromAux = table?.[kind];
  if (fromAux) return fromAux;
  if (kind === 'vlek')
    throw new CollateralError(
      'ERR_SNP_COLLATERAL_MISSING',
      'snp-collateral',
      'SNP report is VLEK-signed: supply the VLEK (option vcek or the auxblob); KDS does not serve VLEKs',
    );
  if (!o.kds)
    throw new CollateralError(
      'ERR_SNP_COLLATERAL_MISSING',
      'snp-collateral',
      'no VCEK: supply it (option vcek or the auxblob) or a KDS collateral source',
    );
  if (!product)
    throw new CollateralError(
      'ERR_SNP_COLLATERAL_MISSING',
      'snp-collateral',
      'no VCEK and no product line to fetch it for: set option product',
    );
  return o.kds.getVcek({ product, chipId: report.chipId, tcb: report.reportedTcb });
}

async function chainCerts(
  kind: 'vcek' | 'vlek',
  product: SnpProduct | undefined,
  table: SnpCertTable | undefined,
  o: VerifySnpOptions,
): Promise<{ intermediate: Uint8Array; root: Uint8Array }> {
  let pem = o.chain;
  if (pem === undefined && table?.ask && table.ark) return { intermediate: table.ask, root: table.ark };
  if (pem === undefined && o.kds && product) pem = await o.kds.getCertChain(product, kind);
  if (pem === undefined) {
    if (!product)
      throw new CollateralError(
        'ERR_SNP_COLLATERAL_MISSING',
        'snp-collateral',
        'no certificate chain and no product line to pick a built-in one: set option product',
      );
    return { intermediate: amdIntermediateDer(product, kind), root: amdArkDer(product) };
  }
  const certs = splitPem(pem, 'SNP certificate chain');
  if (certs.length !== 2) {
    throw chainError(
      'ERR_SNP_CHAIN_INVALID',
      `SNP certificate chain has ${certs.length} certificates, expected 2 (ASK or ASVK, then ARK)`,
    );
  }
  return { intermediate: certs[0] as Uint8Array, root: certs[1] as Uint8Array };
}

/**
 * Appraises an AMD SEV-SNP attestation report: parse (v2-v5), header checks, VCEK/VLEK ← ASK/ASVK ←
 * ARK at `at` (ARK pinned, product lines consistent), the certificate's TCB and hwID equal the
 * report's REPORTED_TCB and CHIP_ID, then the report's ECDSA P-384 signature. Debug (policy bit 19)
 * is reported, not refused: that is policy.
 *
 * @example
 * const r = await verifySnpReport(reportBytes, { at: new Date(), vcek: vcekDer, chain: askArkPem });
 * console.log(r.measurements.measurement, r.measurements.reportedTcb);
 */
export async function verifySnpReport(input: Uint8Array | string, o: VerifySnpOptions): Promise<SnpResult> {
  const at = atSeconds(o.at, 'snp');
  if (o.product !== undefined && !SNP_PRODUCTS.includes(o.product)) {
    throw new ConfigError('ERR_SNP_PRODUCT_UNKNOWN', 'snp', `unknown SNP product "${String(o.product)}"`);
  }
  const bytes = typeof input === 'string' ? snpReportFromText(input) : input;
  let report = parseSnpReport(bytes, o.product ? { product: o.product } : {});
  const kind = checkSnpReportHeader(report);
  const table = o.aux ? parseSnpCertTable(o.aux) : undefined;

  const leaf = await signingCert(report, kind, o.product ?? report.product, table, o);
  const cache = o.chainCache;
  const leafKey = cache ? VerifiedChainCache.key(`snp-leaf:${kind}`, [leaf]) : '';
  const cachedExt = cache?.getAs<VcekExtensions>(leafKey);
  const ext = cachedExt ?? parseVcekExtensions(leaf);
  if (cache && !cachedExt) cache.set(leafKey, ext);
  // Product line: the caller's, else the v3 CPUID's, else the certificate's (the chain then has to agree).
  const product = o.product ?? report.product ?? snpProductFromName(ext.productName);
  const { intermediate, root } = await chainCerts(kind, product, table, o);
  const anchors = anchorsFrom(o.trustAnchors);
  const key = cache ? VerifiedChainCache.key(`snp-chain:${kind}`, [leaf, intermediate, root]) : '';
  const hit = cache?.getAs<CachedSnpChain>(key);
  let chain: SnpChainResult;
  if (hit) {
    chain = revalidate(hit, root, anchors, product, at);
  } else {
    chain = verifySnpChain(
      { leaf, intermediate, root },
      { at, anchors, signingKey: kind, ...(product ? { product } : {}) },
    );
    cache?.set(key, { chain } satisfies CachedSnpChain);
  }
  let window = chain.window;
  if (o.crl) {
    const c = checkSnpRevocation(o.crl, {
      ark: parseCert(root, 'ARK'),
      certs: [parseCert(intermediate, 'intermediate'), parseCert(leaf, 'signing certificate')],
      at,
    });
    window = { notBefore: Math.max(window.notBefore, c.thisUpdate), notAfter: Math.min(window.notAfter, c.nextUpdate) };
  }
  // Re-decode with the chain's product so Turin TCB fields are read with the Turin layout.
  if (report.product !== chain.product) report = parseSnpReport(bytes, { product: chain.product });

  checkSnpTcbMatchesCert(report, ext, chain.product);
  checkSnpChipId(report, ext, chain.product);
  verifySnpReportSignature(report, chain.leafKey);

  const t = report.reportedTcb;
  const result: SnpResult = {
    tee: 'sev-snp',
    reportVersion: report.version,
    simulated: chain.anchor.simulated,
    evidenceSha256: createHash('sha256').update(report.raw).digest('hex'),
    debug: report.policy.debug,
    collateralWindow: window,
    measurements: {
      measurement: toHex(report.measurement),
      hostData: toHex(report.hostData),
      idKeyDigest: toHex(report.idKeyDigest),
      authorKeyDigest: toHex(report.authorKeyDigest),
      reportData: toHex(report.reportData),
      policy: report.policy.raw.toString(16).padStart(16, '0'),
      vmpl: report.vmpl,
      reportedTcb: {
        bootloader: t.bootloader,
        tee: t.tee,
        snp: t.snp,
        microcode: t.microcode,
        ...(t.fmc !== undefined ? { fmc: t.fmc } : {}),
      },
      chipId: toHex(report.chipId),
      signingKey: kind,
      product: chain.product,
    },
  };
  return markVerified(result);
}
