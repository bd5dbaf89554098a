/**
 * Finds every piece of attestation evidence an RA-TLS certificate carries, by format. Pure and
 * bounded: certificate ≤ MAX_RATLS_CERT_BYTES, each evidence extension ≤ MAX_EVIDENCE_EXTENSION_BYTES,
 * Nitro SAN label ≤ MAX_NITRO_SAN_LABEL_CHARS. Checks the framing only; binding and appraisal
 * come later (`checkBinding`, the verifier).
 */

import { derChildren, readDer } from '../asn1/der.js';
import { parseX509 } from '../asn1/x509.js';
import { CertificateError, EvidenceParseError, RatlsError } from '../errors.js';
import { TEE_TYPE_SGX, TEE_TYPE_TDX } from '../quote/types.js';
import { SNP_REPORT_SIZE } from '../snp/layout.js';
import { decodeDiceTaggedEvidence } from './dice-tagged.js';
import { parseOeEvidence, parseOeReport } from './oe-header.js';
import {
  DICE_TAG_NITRO,
  DICE_TAG_SEV_SNP,
  DICE_TAG_TDX,
  type DiceTag,
  MAX_EVIDENCE_EXTENSION_BYTES,
  MAX_NITRO_SAN_LABEL_CHARS,
  MAX_RATLS_CERT_BYTES,
  OID_DICE_ENDORSEMENTS,
  OID_DICE_TAGGED_EVIDENCE,
  OID_GRAMINE_QUOTE,
  OID_GRAMINE_QUOTE_MISENCODED,
  OID_INTEL_SGX_SDK_QUOTE,
  OID_OE_EVIDENCE,
  OID_OE_REPORT,
  OID_SUBJECT_ALT_NAME,
  RECOGNISED_NON_EVIDENCE_OIDS,
} from './oids.js';

export type EvidenceFormat =
  | 'tcg-dice'
  | 'gramine-legacy'
  | 'intel-sgx-sdk'
  | 'open-enclave-report'
  | 'open-enclave-evidence'
  | 'nitro-san';

export interface ExtractedEvidence {
  format: EvidenceFormat;
  tee: 'sgx' | 'tdx' | 'sev-snp' | 'nitro';
  /** Extension OID as parsed (the Gramine quirk shows as 0.6.9.…), or null for the SAN format. */
  oid: string | null;
  /** The quote (SGX/TDX), attestation report (SEV-SNP) or COSE_Sign1 document (Nitro). */
  evidence: Uint8Array;
  /** DICE claims buffer, or the Open Enclave custom-claims buffer. */
  claims?: Uint8Array;
  diceTag?: DiceTag;
  /** The extension value (extnValue contents), or the SAN label's ASCII bytes. */
  raw: Uint8Array;
}

export interface RatlsCertificateParts {
  /** The TBS certificate's SubjectPublicKeyInfo, DER. */
  spkiDer: Uint8Array;
  evidence: ExtractedEvidence[];
  /** DICE endorsements (2.23.133.5.4.2) value, when present. Not appraised here. */
  endorsements?: Uint8Array;
  /** Other recognised RA-TLS extensions (sgx-ra-tls collateral), OID → value. */
  recognised: { oid: string; value: Uint8Array }[];
}

/** TEE named by a DCAP quote header (tee_type u32 LE at offset 4; v3 reserves it as 0 = SGX). */
function quoteTee(quote: Uint8Array, oid: string): 'sgx' | 'tdx' {
  if (quote.length < 48)
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `extension ${oid}: quote of ${quote.length} bytes is shorter than its 48-byte header`,
    );
  const version = (quote[0] as number) | ((quote[1] as number) << 8);
  const teeType =
    ((quote[4] as number) |
      ((quote[5] as number) << 8) |
      ((quote[6] as number) << 16) |
      ((quote[7] as number) << 24)) >>>
    0;
  if (version < 3 || version > 5)
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `extension ${oid}: quote version ${version} is not 3, 4 or 5`,
    );
  if (teeType === TEE_TYPE_SGX) return 'sgx';
  if (teeType === TEE_TYPE_TDX) return 'tdx';
  throw new EvidenceParseError(
    'ERR_EVIDENCE_EXTENSION_INVALID',
    'extract',
    `extension ${oid}: quote tee_type 0x${teeType.toString(16)} is neither SGX (0) nor TDX (0x81)`,
  );
}

function fromExtension(oid: string, value: Uint8Array): ExtractedEvidence | null {
  if (value.length > MAX_EVIDENCE_EXTENSION_BYTES)
    throw new CertificateError(
      'ERR_CERT_TOO_LARGE',
      'extract',
      `extension ${oid}: ${value.length} bytes exceeds the limit of ${MAX_EVIDENCE_EXTENSION_BYTES}`,
    );
  switch (oid) {
    case OID_DICE_TAGGED_EVIDENCE: {
      const d = decodeDiceTaggedEvidence(value);
      const base = {
        format: 'tcg-dice' as const,
        oid,
        evidence: d.evidence,
        claims: d.claims,
        diceTag: d.tag,
        raw: value,
      };
      if (d.tag === DICE_TAG_SEV_SNP) {
        if (d.evidence.length !== SNP_REPORT_SIZE)
          throw new EvidenceParseError(
            'ERR_EVIDENCE_EXTENSION_INVALID',
            'extract',
            `extension ${oid}: SEV-SNP report of ${d.evidence.length} bytes (expected ${SNP_REPORT_SIZE})`,
          );
        return { ...base, tee: 'sev-snp' };
      }
      if (d.tag === DICE_TAG_NITRO) {
        if (!looksLikeCose(d.evidence))
          throw new EvidenceParseError(
            'ERR_EVIDENCE_EXTENSION_INVALID',
            'extract',
            `extension ${oid}: Nitro evidence is not a COSE_Sign1 array`,
          );
        return { ...base, tee: 'nitro' };
      }
      const tee = quoteTee(d.evidence, oid);
      if (d.tag === DICE_TAG_TDX && tee !== 'tdx')
        throw new EvidenceParseError(
          'ERR_EVIDENCE_EXTENSION_INVALID',
          'extract',
          `extension ${oid}: CBOR tag 60001 (TDX) wraps a non-TDX quote`,
        );
      return { format: 'tcg-dice', tee, oid, evidence: d.evidence, claims: d.claims, diceTag: d.tag, raw: value };
    }
    case OID_GRAMINE_QUOTE:
    case OID_GRAMINE_QUOTE_MISENCODED:
      return { format: 'gramine-legacy', tee: quoteTee(value, oid), oid, evidence: value, raw: value };
    case OID_INTEL_SGX_SDK_QUOTE:
      return { format: 'intel-sgx-sdk', tee: quoteTee(value, oid), oid, evidence: value, raw: value };
    case OID_OE_REPORT: {
      const { quote } = parseOeReport(value, oid);
      return { format: 'open-enclave-report', tee: quoteTee(quote, oid), oid, evidence: quote, raw: value };
    }
    case OID_OE_EVIDENCE: {
      const { quote, customClaims } = parseOeEvidence(value, oid);
      return {
        format: 'open-enclave-evidence',
        tee: quoteTee(quote, oid),
        oid,
        evidence: quote,
        claims: customClaims,
        raw: value,
      };
    }
    default:
      return null;
  }
}

const HEX_LABEL = /^[0-9a-fA-F]+$/;

/** A CBOR array of 4 (0x84), optionally under tag 18 (COSE_Sign1, RFC 9052 §4.2). */
function looksLikeCose(doc: Uint8Array): boolean {
  return doc[0] === 0x84 || (doc[0] === 0xd2 && doc[1] === 0x84);
}

/**
 * Evervault-style Nitro: a dNSName whose first label is the hex of a COSE_Sign1 document. A label
 * counts when it is long, hex, and decodes to a CBOR array of 4 (0x84) optionally under tag 18.
 */
function fromSan(value: Uint8Array): ExtractedEvidence[] {
  // GeneralNames ::= SEQUENCE OF GeneralName; dNSName is [2] IA5String (RFC 5280 §4.2.1.6).
  const names: string[] = [];
  try {
    const seq = readDer(value, 0x30);
    for (const n of derChildren(value, seq)) {
      if (n.tag === 0x82) names.push(Buffer.from(value.subarray(n.contentStart, n.end)).toString('latin1'));
    }
  } catch (e) {
    if (e instanceof EvidenceParseError) throw e;
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `extension ${OID_SUBJECT_ALT_NAME}: subjectAltName does not parse`,
      { cause: e },
    );
  }
  const out: ExtractedEvidence[] = [];
  for (const dns of names) {
    const dot = dns.indexOf('.');
    const label = dot < 0 ? dns : dns.slice(0, dot);
    if (label.length < 64 || !HEX_LABEL.test(label.slice(0, 64))) continue;
    if (label.length > MAX_NITRO_SAN_LABEL_CHARS)
      throw new CertificateError(
        'ERR_CERT_TOO_LARGE',
        'extract',
        `subjectAltName hex label: ${label.length} bytes exceeds the limit of ${MAX_NITRO_SAN_LABEL_CHARS}`,
      );
    if (label.length % 2 !== 0 || !HEX_LABEL.test(label)) continue;
    const doc = new Uint8Array(Buffer.from(label, 'hex'));
    if (!looksLikeCose(doc)) continue;
    out.push({ format: 'nitro-san', tee: 'nitro', oid: null, evidence: doc, raw: new TextEncoder().encode(label) });
  }
  return out;
}

interface CertificateFields {
  spkiDer: Uint8Array;
  extensions: readonly { oid: string; value: Uint8Array }[];
}

/** SPKI and extensions by the one ASN.1 stack (`parseX509`, RFC 5280 §4.1). */
function parseCertificate(certDer: Uint8Array): CertificateFields {
  if (!(certDer instanceof Uint8Array))
    throw new CertificateError('ERR_CERT_PARSE', 'certificate', 'certificate: input is not a Uint8Array');
  if (certDer.length > MAX_RATLS_CERT_BYTES)
    throw new CertificateError(
      'ERR_CERT_TOO_LARGE',
      'extract',
      `certificate: ${certDer.length} bytes exceeds the limit of ${MAX_RATLS_CERT_BYTES}`,
    );
  try {
    const c = parseX509(certDer, MAX_RATLS_CERT_BYTES);
    return { spkiDer: c.spki, extensions: c.extensionList };
  } catch (e) {
    const code = e instanceof RatlsError ? e.code : 'untyped';
    // RFC 5280 §4.2: one instance per extension; a second copy of an evidence OID is an evidence fault.
    if (code === 'ERR_CERT_DUPLICATE_EXTENSION') {
      throw new EvidenceParseError('ERR_EVIDENCE_EXTENSION_INVALID', 'extract', (e as Error).message, { cause: e });
    }
    const msg = e instanceof Error ? e.message : String(e);
    throw new CertificateError('ERR_CERT_PARSE', 'certificate', `${msg} (${code})`, { cause: e });
  }
}

/**
 * Splits a certificate into its SPKI and every evidence, endorsement and recognised RA-TLS
 * extension. The list of evidence may be empty (see `extractEvidence` for the strict form).
 * @example const { spkiDer, evidence } = parseRatlsCertificate(der)
 */
export function parseRatlsCertificate(certDer: Uint8Array): RatlsCertificateParts {
  return splitRatlsCertificate(parseCertificate(certDer));
}

/**
 * `parseRatlsCertificate` for a certificate already parsed by the one ASN.1 stack (`parseX509`):
 * the verifier parses the peer certificate once and hands the parse on, so the same bytes are
 * never read by a second parser (ARCHITECTURE "Parsing"). Same result and errors after the parse.
 * @example const { evidence } = ratlsCertificateParts(parseX509(der, MAX_RATLS_CERT_BYTES))
 */
export function ratlsCertificateParts(x509: {
  spki: Uint8Array;
  extensionList: readonly { oid: string; value: Uint8Array }[];
}): RatlsCertificateParts {
  return splitRatlsCertificate({ spkiDer: x509.spki, extensions: x509.extensionList });
}

function splitRatlsCertificate(cert: CertificateFields): RatlsCertificateParts {
  try {
    const spkiDer = cert.spkiDer;
    const evidence: ExtractedEvidence[] = [];
    const recognised: { oid: string; value: Uint8Array }[] = [];
    let endorsements: Uint8Array | undefined;
    const seen = new Set<string>();
    for (const ext of cert.extensions) {
      // RFC 5280 §4.2: a certificate must not include more than one instance of an extension.
      if (seen.has(ext.oid))
        throw new EvidenceParseError(
          'ERR_EVIDENCE_EXTENSION_INVALID',
          'extract',
          `extension ${ext.oid}: appears more than once`,
        );
      seen.add(ext.oid);
      const value = ext.value;
      if (ext.oid === OID_SUBJECT_ALT_NAME) {
        evidence.push(...fromSan(value));
        continue;
      }
      if (ext.oid === OID_DICE_ENDORSEMENTS) {
        if (value.length > MAX_RATLS_CERT_BYTES)
          throw new CertificateError(
            'ERR_CERT_TOO_LARGE',
            'extract',
            `extension ${ext.oid}: ${value.length} bytes exceeds the limit of ${MAX_RATLS_CERT_BYTES}`,
          );
        endorsements = value;
        continue;
      }
      if (RECOGNISED_NON_EVIDENCE_OIDS.includes(ext.oid)) {
        recognised.push({ oid: ext.oid, value });
        continue;
      }
      const ev = fromExtension(ext.oid, value);
      if (ev) evidence.push(ev);
    }
    return endorsements ? { spkiDer, evidence, endorsements, recognised } : { spkiDer, evidence, recognised };
  } catch (e) {
    if (e instanceof RatlsError) throw e;
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `certificate extensions: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/**
 * Every evidence the certificate carries, in extension order. Throws ERR_CERT_NO_EVIDENCE when
 * there is none, ERR_EVIDENCE_EXTENSION_INVALID when a recognised extension is malformed (never
 * skipped), ERR_CERT_TOO_LARGE past the size bounds.
 * @example for (const e of extractEvidence(der)) console.log(e.format, e.tee)
 */
export function extractEvidence(certDer: Uint8Array): ExtractedEvidence[] {
  const { evidence } = parseRatlsCertificate(certDer);
  if (evidence.length === 0) {
    throw new CertificateError(
      'ERR_CERT_NO_EVIDENCE',
      'extract',
      'certificate carries no attestation evidence (no DICE, Gramine, SGX SDK, Open Enclave or Nitro SAN evidence)',
    );
  }
  return evidence;
}
