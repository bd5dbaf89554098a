/**
 * `verifyCertificate`: an RA-TLS certificate in, an attestation result out. Steps, each with its
 * own error codes: bounded input → X.509 parse → validity at `at` → signature (self, or a
 * configured CA) → extract evidence → binding for every format present → appraisal of every
 * distinct piece of evidence → one result.
 */
import { createHash, type KeyObject } from 'node:crypto';
import {
  AppraisalError,
  bytesEqual,
  CertificateError,
  checkCertificateBinding,
  DICE_TAG_SEV_SNP,
  decodeDiceEndorsements,
  decodeSnpEndorsements,
  derNameText,
  diceEndorsementsTag,
  EvidenceParses,
  type ExtractedEvidence,
  RatlsError,
  RECOGNISED_NON_EVIDENCE_OIDS,
  ratlsCertificateParts,
  sha256Hex,
  toRatlsError,
} from '@ratls/evidence';
import { deepFreeze } from '../freeze.js';
import { type AttestationResult, isVerifiedResult, type TcbStatus } from '../result.js';
import { isoFromSeconds, toUnixSeconds } from '../time.js';
import { appraiseEvidence, type EvidenceAppraisalOptions, prepareAppraisal } from './appraise-evidence.js';
import { collateralFromEndorsements } from './endorsements.js';
import { certificateDer } from './input.js';
import { checkIssuedBy, checkSelfSigned } from './signature.js';
import { type X509Parts, x509Parts } from './x509-parts.js';

export interface VerifyCertificateOptions extends EvidenceAppraisalOptions {
  /** When set, the certificate must be issued directly by one of these CAs (PEM or DER). */
  certificateAuthorities?: (string | Uint8Array)[];
  /**
   * The key the TLS stack decoded from this same certificate (see `PeerContext.peerPublicKey`):
   * the self-signature is checked with it when it equals the SPKI, else ERR_CERT_TLS_KEY_MISMATCH.
   */
  peerPublicKey?: () => KeyObject | undefined;
}

export interface CertificateVerification {
  /** The result policy should see: the least favourable of `results` (see `pickResult`). */
  result: AttestationResult;
  /** One result per distinct piece of evidence, in certificate order. */
  results: AttestationResult[];
  certificate: { fingerprintSha256: string; notBefore: number; notAfter: number; subject: string; formats: string[] };
  binding: { formats: string[]; rules: string[] };
}

/** Extensions a certificate may mark critical without us refusing it (RFC 5280 §4.2). */
const UNDERSTOOD = new Set([
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.37', // extKeyUsage
  '2.5.29.14',
  '2.5.29.35',
  '2.23.133.5.4.9',
  '1.2.840.113741.1337.6',
  '0.6.9.42.840.113741.1337.6',
  '1.2.840.113741.1.13.1',
  '1.3.6.1.4.1.311.105.1',
  '1.3.6.1.4.1.311.105.2',
  ...RECOGNISED_NON_EVIDENCE_OIDS,
]);

const TCB_RANK: Record<TcbStatus, number> = {
  UpToDate: 0,
  SWHardeningNeeded: 1,
  ConfigurationNeeded: 2,
  ConfigurationAndSWHardeningNeeded: 3,
  OutOfDate: 4,
  OutOfDateConfigurationNeeded: 5,
  Revoked: 6,
};

function rank(r: AttestationResult): number {
  const tcb = r.tee === 'sgx' || r.tee === 'tdx' ? TCB_RANK[r.tcbStatus] : 0;
  return tcb * 2 + (r.debug ? 1 : 0);
}

/** Least favourable result (worst TCB status, then debug); ties keep certificate order. */
function pickResult(results: AttestationResult[]): AttestationResult {
  let best = results[0] as AttestationResult;
  for (const r of results) if (rank(r) > rank(best)) best = r;
  return best;
}

/**
 * Subject as one-line text (evidence's `derNameText`, the one ASN.1 stack), from the subject bytes
 * themselves. (Node's X509Certificate must not be used on RA-TLS certificates: given bytes, it
 * looks for PEM text first and finds the PCK chain embedded in the quote.)
 */
function subjectText(subjectRaw: Uint8Array): string {
  try {
    return derNameText(subjectRaw);
  } catch {
    return '';
  }
}

/**
 * Adds `subject` as an enumerable getter decoded on first read: rendering a Name costs about a
 * tenth of a fresh certificate's verification, and the handshake path rarely reads it.
 */
function lazySubject<T extends object>(o: T, subjectRaw: Uint8Array): T & { subject: string } {
  let text: string | undefined;
  return Object.defineProperty(o, 'subject', {
    enumerable: true,
    get: () => (text ??= subjectText(subjectRaw)),
  }) as T & { subject: string };
}

function checkValidity(cert: X509Parts, at: number): void {
  if (at >= cert.notBefore && at <= cert.notAfter) return;
  // Dates are rendered only for the refusal: on the accepting path they were ~1 % of a fresh
  // certificate's verification.
  const when = isoFromSeconds(at);
  const span = `${isoFromSeconds(cert.notBefore)} to ${isoFromSeconds(cert.notAfter)}`;
  if (at < cert.notBefore) {
    throw new CertificateError(
      'ERR_CERT_NOT_YET_VALID',
      'certificate',
      `certificate: not valid until ${isoFromSeconds(cert.notBefore)} (checked at ${when}; valid ${span})`,
    );
  }
  if (at > cert.notAfter) {
    throw new CertificateError(
      'ERR_CERT_EXPIRED',
      'certificate',
      `certificate: expired ${isoFromSeconds(cert.notAfter)} (checked at ${when}; valid ${span})`,
    );
  }
}

function checkCritical(cert: X509Parts): void {
  const unknown = cert.extensions.filter((e) => e.critical && !UNDERSTOOD.has(e.oid));
  if (unknown.length > 0) {
    throw new CertificateError(
      'ERR_CERT_CRITICAL_EXTENSION',
      'certificate',
      `certificate: unrecognised critical extension ${unknown.map((e) => e.oid).join(', ')}`,
    );
  }
}

/** Every distinct evidence once (the SGX SDK repeats its DICE quote). */
function distinct(list: ExtractedEvidence[]): ExtractedEvidence[] {
  const out: ExtractedEvidence[] = [];
  for (const ev of list) if (!out.some((o) => bytesEqual(o.evidence, ev.evidence))) out.push(ev);
  return out;
}

async function run(cert: Uint8Array | string, given: VerifyCertificateOptions): Promise<CertificateVerification> {
  const opts = prepareAppraisal(given);
  const der = certificateDer(cert);
  const parts = x509Parts(der);
  const at = toUnixSeconds(opts.at);
  checkValidity(parts, at);
  checkCritical(parts);
  if (opts.certificateAuthorities && opts.certificateAuthorities.length > 0) {
    checkIssuedBy(
      parts,
      opts.certificateAuthorities.map((c) => x509Parts(certificateDer(c))),
      at,
    );
  } else {
    checkSelfSigned(parts, opts.peerPublicKey);
  }
  // One parse of the certificate and of each quote for the whole decision (ARCHITECTURE
  // "Parsing"): extraction reads the X.509 parse made above, the binding check parses each quote
  // into `parses`, and the DCAP appraisal takes that same parse and the evidence hash made here.
  const ratls = ratlsCertificateParts({ spki: parts.spki, extensionList: parts.extensions });
  if (ratls.evidence.length === 0) {
    throw new CertificateError(
      'ERR_CERT_NO_EVIDENCE',
      'extract',
      'certificate carries no attestation evidence (no DICE, Gramine, SGX SDK, Open Enclave or Nitro SAN evidence)',
    );
  }
  const parses = new EvidenceParses();
  const outcomes = checkCertificateBinding(
    ratls,
    opts.expectedNonce ? { expectedNonce: opts.expectedNonce, parses } : { parses },
  );
  // SNP endorsements are certificates that still have to chain to a configured ARK, so they are
  // always used; Intel endorsements (TCB info freshness) only when asked for.
  const snpEndorsed = ratls.endorsements && diceEndorsementsTag(ratls.endorsements) === DICE_TAG_SEV_SNP;
  const snpCertTable = snpEndorsed && ratls.endorsements ? decodeSnpEndorsements(ratls.endorsements) : undefined;
  const endorsements =
    opts.useCertificateEndorsements && ratls.endorsements && !snpEndorsed
      ? collateralFromEndorsements(decodeDiceEndorsements(ratls.endorsements))
      : undefined;
  const results: AttestationResult[] = [];
  for (const ev of distinct(ratls.evidence)) {
    const evidenceSha256 = sha256Hex(ev.evidence);
    const r = await appraiseEvidence(ev, opts, endorsements, snpCertTable, { parses, evidenceSha256 });
    // A caller's quote verifier is trusted only for results it got from a ratls appraiser, about
    // this very evidence, whose report data is the one the binding check saw.
    if (!isVerifiedResult(r)) {
      throw new AppraisalError(
        'ERR_RESULT_NOT_VERIFIED',
        'appraisal',
        `${ev.format}: the quote verifier returned a result that no ratls appraiser produced`,
      );
    }
    if (r.evidenceSha256 !== evidenceSha256) {
      throw new AppraisalError(
        'ERR_RESULT_EVIDENCE_MISMATCH',
        'appraisal',
        `${ev.format}: the appraisal result is about other evidence (SHA-256 ${r.evidenceSha256})`,
      );
    }
    const bound = outcomes.find((o) => o.reportData && o.format === ev.format)?.reportData;
    if (bound && 'reportData' in r.measurements && r.measurements.reportData !== Buffer.from(bound).toString('hex')) {
      throw new CertificateError(
        'ERR_BINDING_MISMATCH',
        'binding',
        `${ev.format}: appraised report data differs from the bound report data`,
      );
    }
    results.push(r);
  }
  const formats = ratls.evidence.map((e) => e.format);
  return {
    result: pickResult(results),
    results,
    // Frozen here by the strict walk, which skips accessors: the peer verifier's cache freezes the
    // whole verification and would otherwise read `subject` and render the Name (≈2 % of a fresh
    // certificate's appraisal) for a value the handshake path rarely reads.
    certificate: deepFreeze(
      lazySubject(
        {
          fingerprintSha256: createHash('sha256').update(der).digest('hex'),
          notBefore: parts.notBefore,
          notAfter: parts.notAfter,
          formats,
        },
        parts.subjectRaw,
      ),
      true,
    ),
    binding: { formats: outcomes.map((o) => o.format), rules: outcomes.map((o) => o.rule) },
  };
}

/**
 * Verifies an RA-TLS certificate (DER or PEM) at time `at`: X.509 validity and signature, the
 * key binding of every evidence format it carries, and appraisal of every distinct quote or
 * document. Throws only RatlsError subclasses; debug mode and TCB status are facts in the result.
 * @example
 * const v = await verifyCertificate(pem, { at: new Date(), collateral: readFileSync('collateral.json', 'utf8') })
 * console.log(v.certificate.formats, v.result.tee, v.result.debug)
 */
export async function verifyCertificate(
  cert: Uint8Array | string,
  opts: VerifyCertificateOptions,
): Promise<CertificateVerification> {
  try {
    return await run(cert, opts);
  } catch (e) {
    if (e instanceof RatlsError) throw e;
    throw toRatlsError(e, 'ERR_CERT_VERIFY_INTERNAL', 'certificate');
  }
}
