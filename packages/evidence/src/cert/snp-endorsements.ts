/**
 * SEV-SNP certificates carried in the DICE endorsements extension (2.23.133.5.4.2). No published
 * RA-TLS format defines SNP endorsements; ratls uses the evidence's CBOR tag (0x1a7504, as the CCC
 * Intel endorsements reuse the evidence tag) around `[cert-table: bstr]`, where cert-table is the
 * GHCB extended-guest-request certificate table exactly as configfs-tsm's `auxblob` holds it
 * (VCEK/VLEK, ASK/ASVK, ARK by GUID). Verifiers still chain it to a configured ARK.
 */
import { concatBytes } from '../bytes.js';
import { EvidenceParseError, RatlsError } from '../errors.js';
import { parseSnpCertTable } from '../snp/cert-table.js';
import { encodeBstr, encodeHead, MT_ARRAY, MT_TAG, readBstr, readHead } from './cbor-lite.js';
import { DICE_TAG_SEV_SNP, MAX_RATLS_CERT_BYTES } from './oids.js';

/**
 * The CBOR tag of an endorsements extension value, or undefined when it does not start with one.
 * @example if (diceEndorsementsTag(parts.endorsements) === DICE_TAG_SEV_SNP) …
 */
export function diceEndorsementsTag(bytes: Uint8Array): number | undefined {
  try {
    const h = readHead(bytes, 0, 'DICE endorsements');
    return h.major === MT_TAG ? h.arg : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Wraps an SNP certificate table (configfs-tsm auxblob) for the endorsements extension.
 * @example new x509.Extension(OID_DICE_ENDORSEMENTS, false, encodeSnpEndorsements(aux))
 */
export function encodeSnpEndorsements(certTable: Uint8Array): Uint8Array {
  parseSnpCertTable(certTable);
  const out = concatBytes(encodeHead(MT_TAG, DICE_TAG_SEV_SNP), encodeHead(MT_ARRAY, 1), encodeBstr(certTable));
  if (out.length > MAX_RATLS_CERT_BYTES)
    throw new EvidenceParseError(
      'ERR_DICE_ENDORSEMENTS_INVALID',
      'extract',
      `DICE endorsements (2.23.133.5.4.2): ${out.length} bytes exceeds ${MAX_RATLS_CERT_BYTES}`,
    );
  return out;
}

/**
 * The SNP certificate table inside an endorsements extension value (checked to parse).
 * @example const aux = decodeSnpEndorsements(parts.endorsements); verifySnpReport(report, { at, aux })
 */
export function decodeSnpEndorsements(bytes: Uint8Array): Uint8Array {
  if (bytes.length > MAX_RATLS_CERT_BYTES)
    throw new EvidenceParseError(
      'ERR_DICE_ENDORSEMENTS_INVALID',
      'extract',
      `DICE endorsements (2.23.133.5.4.2): ${bytes.length} bytes exceeds ${MAX_RATLS_CERT_BYTES}`,
    );
  try {
    const what = 'SNP endorsements';
    const t = readHead(bytes, 0, what);
    if (t.major !== MT_TAG || t.arg !== DICE_TAG_SEV_SNP)
      throw new EvidenceParseError(
        'ERR_DICE_ENDORSEMENTS_INVALID',
        'extract',
        'DICE endorsements (2.23.133.5.4.2): not CBOR tag 0x1a7504',
      );
    const arr = readHead(bytes, t.next, what);
    if (arr.major !== MT_ARRAY || arr.arg !== 1)
      throw new EvidenceParseError(
        'ERR_DICE_ENDORSEMENTS_INVALID',
        'extract',
        'DICE endorsements (2.23.133.5.4.2): tag content is not a 1-element array [cert-table]',
      );
    const table = readBstr(bytes, arr.next, what);
    if (table.next !== bytes.length)
      throw new EvidenceParseError(
        'ERR_DICE_ENDORSEMENTS_INVALID',
        'extract',
        `DICE endorsements (2.23.133.5.4.2): ${bytes.length - table.next} trailing bytes`,
      );
    parseSnpCertTable(table.value);
    return table.value;
  } catch (e) {
    if (e instanceof RatlsError && e.code === 'ERR_DICE_ENDORSEMENTS_INVALID') throw e;
    throw new EvidenceParseError(
      'ERR_DICE_ENDORSEMENTS_INVALID',
      'extract',
      `DICE endorsements (2.23.133.5.4.2): ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}
