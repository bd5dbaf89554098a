/**
 * The attested facts an issued certificate carries, one extension per fact, each holding a single
 * DER UTF8String: Vault's cert auth `required_extensions` matches one ASN.1 string per OID
 * (`oid:value`), so a SEQUENCE of facts under one OID could not be matched field by field.
 *
 * The OIDs are `<arc>.1` … `<arc>.6` under a configurable arc (`identity.factsArc`). Every arc
 * must be small enough for Go's encoding/asn1 (each arc an int): Vault parses the certificate
 * with it, and an over-long arc (as a 2.25.<UUID> one would be) makes the whole certificate
 * unparseable there. The default sits under IANA's documentation enterprise number (RFC 5612,
 * 32473) until ratls has its own; operators set their own PEN arc. Never renumber the `.N` suffixes.
 */
import type { AttestationResult } from '@ratls/verifier';

/** The fact values are DER UTF8Strings written by the project's one ASN.1 stack. */
export { derUtf8String } from '@ratls/evidence';

/** The default facts arc (RFC 5612 documentation PEN; replace with your own enterprise arc). */
export const DEFAULT_FACTS_ARC = '1.3.6.1.4.1.32473.7367';

const FACT_SUFFIX = { tee: 1, measurement: 2, signer: 3, tcbStatus: 4, evidenceSha256: 5, policyHash: 6 } as const;

export type FactName = keyof typeof FACT_SUFFIX;

/**
 * The OID of each fact under `arc`: tee (`sgx`, `tdx`, `sev-snp`, `nitro`), measurement (MRENCLAVE,
 * MRTD, SNP MEASUREMENT, Nitro PCR0), signer (MRSIGNER, SNP author key digest, Nitro PCR8),
 * tcbStatus (DCAP vocabulary; `UpToDate` for SNP and Nitro), evidenceSha256, policyHash.
 * @example factOids('1.3.6.1.4.1.32473.7367').tee === '1.3.6.1.4.1.32473.7367.1'
 */
export function factOids(arc: string = DEFAULT_FACTS_ARC): Record<FactName, string> {
  const out = {} as Record<FactName, string>;
  for (const k of Object.keys(FACT_SUFFIX) as FactName[]) out[k] = `${arc}.${FACT_SUFFIX[k]}`;
  return out;
}

/**
 * True for a dotted OID whose arcs all fit Go's int (so Vault can parse the certificate).
 * @example isSmallOid('1.3.6.1.4.1.32473.7367') === true
 */
export function isSmallOid(oid: string): boolean {
  return /^[0-2](\.(0|[1-9][0-9]{0,8}))+$/.test(oid);
}

/**
 * The facts of a result, as the strings the extensions hold (a fact the TEE lacks is omitted).
 * @example attestedFacts(result, decision.policyHash).tee === 'sgx'
 */
export function attestedFacts(r: AttestationResult, policyHash: string): Partial<Record<FactName, string>> {
  const base = { tee: r.tee, evidenceSha256: r.evidenceSha256, policyHash };
  switch (r.tee) {
    case 'sgx':
      return {
        ...base,
        measurement: r.measurements.mrEnclave,
        signer: r.measurements.mrSigner,
        tcbStatus: r.tcbStatus,
      };
    case 'tdx':
      return { ...base, measurement: r.measurements.mrTd, tcbStatus: r.tcbStatus };
    case 'sev-snp':
      return {
        ...base,
        measurement: r.measurements.measurement,
        signer: r.measurements.authorKeyDigest,
        tcbStatus: 'UpToDate',
      };
    case 'nitro': {
      const pcr0 = r.measurements.pcrs['0'];
      const pcr8 = r.measurements.pcrs['8'];
      return {
        ...base,
        ...(pcr0 ? { measurement: pcr0 } : {}),
        ...(pcr8 ? { signer: pcr8 } : {}),
        tcbStatus: 'UpToDate',
      };
    }
  }
}
