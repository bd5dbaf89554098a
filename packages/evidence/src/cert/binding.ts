/**
 * Key binding: does the evidence commit to this certificate's key? One rule per format (see
 * docs/formats.md). Every rule compares the quote's report_data (all 64 bytes) or the Nitro
 * document's user_data with a value computed from the certificate's SPKI DER.
 */
import { bytesEqual, concatBytes, isAllZero, toHex } from '../bytes.js';
import { BindingError, EvidenceParseError } from '../errors.js';
import { sha256 } from '../hash.js';
import { parseNitroDocument } from '../nitro/parse.js';
import { parseSnpReport } from '../snp/parse.js';
import { decodeDiceClaims } from './dice-claims.js';
import { EvidenceParses } from './evidence-parses.js';
import type { EvidenceFormat, ExtractedEvidence } from './extract.js';
import { spkiPem, spkiPemWithNul } from './pem.js';
import { spkiHash } from './spki-hash.js';

export type BindingRule =
  | 'dice-claims'
  | 'spki-sha256'
  | 'spki-pem-sha256'
  | 'oe-custom-claims'
  | 'same-quote-as-dice'
  | 'nitro-user-data';

export interface BindingOutcome {
  format: EvidenceFormat;
  tee: ExtractedEvidence['tee'];
  rule: BindingRule;
  /** The 64 report_data bytes the quote carries (SGX/TDX only). */
  reportData?: Uint8Array;
  /** The nonce the evidence carries (DICE claims or Nitro document), if any. */
  nonce?: Uint8Array;
}

export interface BindingOptions {
  /** When set, the evidence must carry exactly this nonce (DICE `nonce` claim, Nitro `nonce`). */
  expectedNonce?: Uint8Array;
  /** Quotes carried under the DICE extension of the same certificate (Intel SGX SDK rule). */
  diceQuotes?: Uint8Array[];
  /** Parsed quotes shared with the rest of this decision (default: parsed here, for this call). */
  parses?: EvidenceParses;
}

const ZERO32 = new Uint8Array(32);

/** report_data = hash ‖ 32 zero bytes, the layout every quote-based RA-TLS format uses. */
function padded(hash32: Uint8Array): Uint8Array {
  return concatBytes(hash32, ZERO32);
}

/**
 * The report_data a quote must carry for `format` and this key. For `tcg-dice` and
 * `open-enclave-evidence` pass the claims buffer. Open Enclave may instead hash the PEM key
 * (`checkBinding` accepts both); Nitro has no report_data (user_data = SPKI DER).
 * @example expectedReportData('gramine-legacy', spkiDer) // SHA-256(SPKI) ‖ 0^32
 */
export function expectedReportData(format: EvidenceFormat, spkiDer: Uint8Array, claims?: Uint8Array): Uint8Array {
  switch (format) {
    case 'tcg-dice':
    case 'open-enclave-evidence':
      if (!claims)
        throw new EvidenceParseError('ERR_BINDING_INPUT', 'binding', `${format}: the claims buffer is required`);
      return padded(sha256(claims));
    case 'gramine-legacy':
    case 'intel-sgx-sdk':
    case 'open-enclave-report':
      return padded(sha256(spkiDer));
    default:
      throw new EvidenceParseError('ERR_BINDING_INPUT', 'binding', `${format}: binds user_data, not report_data`);
  }
}

function quoteReportData(ev: ExtractedEvidence, parses: EvidenceParses): Uint8Array {
  return parses.quote(ev).body.report.reportData;
}

function checkNonce(format: EvidenceFormat, carried: Uint8Array | undefined, opts: BindingOptions): void {
  if (!opts.expectedNonce || !carried) return;
  if (!bytesEqual(carried, opts.expectedNonce)) {
    throw new BindingError(
      'ERR_BINDING_NONCE_MISMATCH',
      'binding',
      `${format}: nonce ${toHex(carried)} is not the expected ${toHex(opts.expectedNonce)}`,
    );
  }
}

/**
 * The 64 bytes DICE evidence commits to: the quote's or SNP report's REPORT_DATA, or the Nitro
 * document's `user_data` (ratls writes SHA-256(claims) ‖ 0^32 there too, as the NSM provider passes
 * the report data through as user_data).
 */
function diceBoundData(ev: ExtractedEvidence, parses: EvidenceParses): { data: Uint8Array; where: string } {
  if (ev.tee === 'sev-snp') return { data: parseSnpReport(ev.evidence).reportData, where: 'SNP report REPORT_DATA' };
  if (ev.tee === 'nitro') {
    const doc = parseNitroDocument(ev.evidence);
    if (!doc.userData)
      throw new BindingError(
        'ERR_BINDING_MISMATCH',
        'binding',
        `${ev.format}: Nitro attestation document has no user_data`,
      );
    return { data: doc.userData, where: 'Nitro document user_data' };
  }
  return { data: quoteReportData(ev, parses), where: 'quote report_data' };
}

function checkDice(
  ev: ExtractedEvidence,
  spkiDer: Uint8Array,
  opts: BindingOptions,
  parses: EvidenceParses,
): BindingOutcome {
  const claimsBytes = ev.claims ?? new Uint8Array(0);
  const { data: reportData, where } = diceBoundData(ev, parses);
  const want = padded(sha256(claimsBytes));
  if (!bytesEqual(reportData, want)) {
    throw new BindingError(
      'ERR_BINDING_MISMATCH',
      'binding',
      `${ev.format}: ${where} ${toHex(reportData.subarray(0, 32))}… is not SHA-256 of the claims buffer ${toHex(want.subarray(0, 32))} followed by zeros`,
    );
  }
  const claims = decodeDiceClaims(claimsBytes);
  const keyHash = spkiHash(spkiDer, claims.pubkeyHash.alg);
  if (!bytesEqual(keyHash, claims.pubkeyHash.hash)) {
    throw new BindingError(
      'ERR_BINDING_MISMATCH',
      'binding',
      `${ev.format}: claims pubkey-hash ${toHex(claims.pubkeyHash.hash)} (alg ${claims.pubkeyHash.alg}) is not the hash of this certificate's SPKI ${toHex(keyHash)}`,
    );
  }
  checkNonce(ev.format, claims.nonce, opts);
  return claims.nonce
    ? { format: ev.format, tee: ev.tee, rule: 'dice-claims', reportData, nonce: claims.nonce }
    : { format: ev.format, tee: ev.tee, rule: 'dice-claims', reportData };
}

/** SHA-256(SPKI DER), or for Open Enclave / SGX SDK also SHA-256(PEM ‖ NUL), then 32 zero bytes. */
function checkSpkiHash(
  ev: ExtractedEvidence,
  spkiDer: Uint8Array,
  allowPem: boolean,
  parses: EvidenceParses,
): BindingOutcome {
  const reportData = quoteReportData(ev, parses);
  if (bytesEqual(reportData, padded(sha256(spkiDer))))
    return { format: ev.format, tee: ev.tee, rule: 'spki-sha256', reportData };
  if (allowPem && bytesEqual(reportData, padded(sha256(spkiPemWithNul(spkiDer))))) {
    return { format: ev.format, tee: ev.tee, rule: 'spki-pem-sha256', reportData };
  }
  const tail = isAllZero(reportData.subarray(32)) ? '' : ' (and report_data[32:64] is not zero)';
  throw new BindingError(
    'ERR_BINDING_MISMATCH',
    'binding',
    `${ev.format}: quote report_data ${toHex(reportData.subarray(0, 32))}… is not SHA-256 of this certificate's public key ${toHex(sha256(spkiDer))}${allowPem ? ' (DER or PEM)' : ''}${tail}`,
  );
}

function checkOeEvidence(ev: ExtractedEvidence, spkiDer: Uint8Array, parses: EvidenceParses): BindingOutcome {
  const custom = ev.claims ?? new Uint8Array(0);
  const reportData = quoteReportData(ev, parses);
  if (!bytesEqual(reportData, padded(sha256(custom)))) {
    throw new BindingError(
      'ERR_BINDING_MISMATCH',
      'binding',
      `${ev.format}: quote report_data ${toHex(reportData.subarray(0, 32))}… is not SHA-256 of the custom-claims buffer`,
    );
  }
  const pem = new TextEncoder().encode(spkiPem(spkiDer));
  const ok = bytesEqual(custom, spkiPemWithNul(spkiDer)) || bytesEqual(custom, pem) || bytesEqual(custom, spkiDer);
  if (!ok)
    throw new BindingError(
      'ERR_BINDING_MISMATCH',
      'binding',
      `${ev.format}: custom-claims buffer (${custom.length} bytes) is not this certificate's public key`,
    );
  return { format: ev.format, tee: ev.tee, rule: 'oe-custom-claims', reportData };
}

function checkNitro(ev: ExtractedEvidence, spkiDer: Uint8Array, opts: BindingOptions): BindingOutcome {
  const doc = parseNitroDocument(ev.evidence);
  if (!doc.userData || !bytesEqual(doc.userData, spkiDer)) {
    throw new BindingError(
      'ERR_BINDING_MISMATCH',
      'binding',
      `${ev.format}: attestation document user_data (${doc.userData ? `${doc.userData.length} bytes` : 'absent'}) is not this certificate's SPKI DER (${spkiDer.length} bytes)`,
    );
  }
  const nonce = doc.nonce ?? undefined;
  checkNonce(ev.format, nonce, opts);
  return nonce
    ? { format: ev.format, tee: ev.tee, rule: 'nitro-user-data', nonce }
    : { format: ev.format, tee: ev.tee, rule: 'nitro-user-data' };
}

/**
 * Checks that one piece of evidence binds the certificate key `spkiDer`. Throws BindingError
 * (ERR_BINDING_MISMATCH, ERR_BINDING_NONCE_MISMATCH) or the parse error of the evidence.
 * @example checkBinding(extractEvidence(der)[0], parseRatlsCertificate(der).spkiDer)
 */
export function checkBinding(ev: ExtractedEvidence, spkiDer: Uint8Array, opts: BindingOptions = {}): BindingOutcome {
  const parses = opts.parses ?? new EvidenceParses();
  switch (ev.format) {
    case 'tcg-dice':
      return checkDice(ev, spkiDer, opts, parses);
    case 'gramine-legacy':
      return checkSpkiHash(ev, spkiDer, false, parses);
    case 'intel-sgx-sdk': {
      // The SDK writes the DICE extension and repeats the same quote here; that quote's report
      // data is the DICE claims hash, so the DICE check (done separately) covers it.
      if (opts.diceQuotes?.some((q) => bytesEqual(q, ev.evidence))) {
        return { format: ev.format, tee: ev.tee, rule: 'same-quote-as-dice', reportData: quoteReportData(ev, parses) };
      }
      return checkSpkiHash(ev, spkiDer, true, parses);
    }
    case 'open-enclave-report':
      return checkSpkiHash(ev, spkiDer, true, parses);
    case 'open-enclave-evidence':
      return checkOeEvidence(ev, spkiDer, parses);
    case 'nitro-san':
      return checkNitro(ev, spkiDer, opts);
  }
}
