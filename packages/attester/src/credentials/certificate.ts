/**
 * Builds a self-signed RA-TLS certificate: asks the quote provider for evidence over the format's
 * report data (see report-data.ts) and puts it in the certificate extension(s) verifiers read.
 *  - 'dice'    : OID 2.23.133.5.4.9, non-critical, CBOR tag 60000 (SGX) / 60001 (TDX) / 0x1a7504
 *                (SEV-SNP report, rats-tls) / 0x1a7570 (Nitro document, ratls) `[evidence, claims]`;
 *                an SNP provider's certificate table goes into the DICE endorsements extension.
 *  - 'gramine' : the raw SGX quote under Gramine's legacy OID, with its upstream mis-encoding.
 *  - 'both'    : two quotes, legacy extension first then DICE, like Gramine's own certificates.
 */
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bytesEqual,
  CertificateError,
  ConfigError,
  DICE_TAG_INTEL_QUOTE,
  DICE_TAG_NITRO,
  DICE_TAG_SEV_SNP,
  DICE_TAG_TDX,
  type DiceTag,
  encodeDiceTaggedEvidence,
  encodeSnpEndorsements,
  MAX_RATLS_CERT_BYTES,
  OID_DICE_ENDORSEMENTS,
  OID_DICE_TAGGED_EVIDENCE,
  OID_GRAMINE_QUOTE_MISENCODED,
  ProviderError,
  parseNitroDocument,
  RatlsError,
} from '@ratls/evidence';
import { checkEchoedReportData } from '../providers/report-data.js';
import type { Evidence, QuoteProvider, TeeKind } from '../providers/types.js';
import { x509 } from '../x509.js';
import { type CertificateIssuer, prepareIssuer } from './issuer.js';
import { KeyPair, SIGNATURE_HASH } from './keys.js';
import { diceClaimsFor, diceReportData, gramineReportData } from './report-data.js';

export type CertificateFormat = 'dice' | 'gramine' | 'both';

/** Default certificate lifetime: 1 hour. Short, because the quote is only as fresh as the cert. */
export const DEFAULT_VALIDITY_SECONDS = 3600;
/** Longest lifetime accepted: 30 days. */
export const MAX_VALIDITY_SECONDS = 30 * 24 * 3600;
/** notBefore is backdated this much by default so peers with a slow clock accept the cert. */
export const DEFAULT_BACKDATE_SECONDS = 60;
export const DEFAULT_SUBJECT_CN = 'ratls';
/** Largest nonce placed in the DICE claims. */
export const MAX_NONCE_BYTES = 64;
const MAX_ALT_NAMES = 32;
const DNS_NAME =
  /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export interface BuildRaTlsCertificateOptions {
  keyPair: KeyPair;
  provider: QuoteProvider;
  /** Default 'dice'. */
  format?: CertificateFormat;
  /** Subject common name (also the issuer's when self-signed). Default `ratls`. */
  subject?: string;
  /** SAN entries: IPv4/IPv6 literals become iPAddress, anything else dNSName. */
  altNames?: readonly string[];
  /** Default: now − 60 s. */
  notBefore?: Date;
  /** Lifetime counted from `now` (not from the backdated notBefore). Default 3600 (1 hour). */
  validitySeconds?: number;
  /** Optional verifier nonce, carried in the DICE claims (DICE format only). */
  nonce?: Uint8Array;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /** Sign with this CA instead of self-signing (the default). */
  issuer?: CertificateIssuer;
}

/** One piece of evidence in the certificate and what it was asked to bind. */
export interface CertificateAttestation {
  format: 'dice' | 'gramine';
  reportData: Uint8Array;
  /** DICE claims buffer (DICE only). */
  claims?: Uint8Array;
  evidence: Evidence;
}

export interface RaTlsCertificate {
  pem: string;
  der: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  attestations: CertificateAttestation[];
}

function checkOptions(o: BuildRaTlsCertificateOptions): void {
  if (!(o.keyPair instanceof KeyPair)) {
    throw new ConfigError(
      'ERR_CONFIG_KEY_PAIR',
      'certificate',
      'buildRaTlsCertificate: keyPair must come from generateKeyPair()',
    );
  }
  if (typeof o.provider?.getEvidence !== 'function') {
    throw new ConfigError(
      'ERR_CONFIG_PROVIDER',
      'certificate',
      'buildRaTlsCertificate: provider must implement QuoteProvider (getEvidence)',
    );
  }
  const format = o.format ?? 'dice';
  if (format !== 'dice' && format !== 'gramine' && format !== 'both') {
    throw new ConfigError(
      'ERR_CONFIG_CERT_FORMAT',
      'certificate',
      `buildRaTlsCertificate: format must be dice, gramine or both, got "${String(format)}"`,
    );
  }
  const v = o.validitySeconds ?? DEFAULT_VALIDITY_SECONDS;
  if (!Number.isInteger(v) || v < 1 || v > MAX_VALIDITY_SECONDS) {
    throw new ConfigError(
      'ERR_CONFIG_VALIDITY',
      'certificate',
      `buildRaTlsCertificate: validitySeconds must be an integer 1..${MAX_VALIDITY_SECONDS}, got ${v}`,
    );
  }
  if (o.nonce !== undefined) {
    if (!(o.nonce instanceof Uint8Array) || o.nonce.length === 0 || o.nonce.length > MAX_NONCE_BYTES) {
      throw new ConfigError(
        'ERR_CONFIG_NONCE',
        'certificate',
        `buildRaTlsCertificate: nonce must be 1..${MAX_NONCE_BYTES} bytes`,
      );
    }
    if (format === 'gramine') {
      throw new ConfigError(
        'ERR_CONFIG_NONCE',
        'certificate',
        'buildRaTlsCertificate: the Gramine legacy format has no place for a nonce; use dice or both',
      );
    }
  }
  const cn = o.subject ?? DEFAULT_SUBJECT_CN;
  if (typeof cn !== 'string' || cn.length === 0 || cn.length > 64) {
    throw new ConfigError(
      'ERR_CONFIG_SUBJECT',
      'certificate',
      'buildRaTlsCertificate: subject CN must be 1..64 characters (RFC 5280 ub-common-name)',
    );
  }
  const names = o.altNames ?? [];
  if (names.length > MAX_ALT_NAMES)
    throw new ConfigError(
      'ERR_CONFIG_ALT_NAME',
      'certificate',
      `buildRaTlsCertificate: at most ${MAX_ALT_NAMES} altNames`,
    );
  for (const n of names) {
    if (typeof n !== 'string' || (isIP(n) === 0 && (n.length > 253 || !DNS_NAME.test(n)))) {
      throw new ConfigError(
        'ERR_CONFIG_ALT_NAME',
        'certificate',
        `buildRaTlsCertificate: "${String(n).slice(0, 64)}" is neither an IP address nor a DNS name`,
      );
    }
  }
}

function diceTagFor(tee: TeeKind): DiceTag {
  if (tee === 'sgx') return DICE_TAG_INTEL_QUOTE;
  if (tee === 'tdx') return DICE_TAG_TDX;
  if (tee === 'sev-snp') return DICE_TAG_SEV_SNP;
  if (tee === 'nitro') return DICE_TAG_NITRO;
  throw new CertificateError(
    'ERR_CERT_FORMAT_UNSUPPORTED',
    'certificate',
    `buildRaTlsCertificate: no DICE tag for ${String(tee)} evidence`,
  );
}

/** Largest evidence accepted from any provider (what verifiers accept in one extension). */
export const MAX_EVIDENCE_BYTES = 64 * 1024;

/** A Nitro document binds through user_data, which must be exactly the report data asked for. */
function checkNitroUserData(doc: Uint8Array, reportData: Uint8Array, provider: QuoteProvider): void {
  let userData: Uint8Array | null;
  try {
    userData = parseNitroDocument(doc).userData;
  } catch (e) {
    throw new ProviderError(
      'ERR_PROVIDER_UNEXPECTED_OUTPUT',
      'provider',
      `${provider.name}: returned a malformed Nitro document`,
      { cause: e },
    );
  }
  if (!userData || !bytesEqual(userData, reportData)) {
    throw new ProviderError(
      'ERR_PROVIDER_REPORT_DATA_MISMATCH',
      'provider',
      `${provider.name}: the Nitro document user_data is not the report data written`,
    );
  }
}

/** Asks the provider, wrapping anything untyped, and checks the shape, size and report data. */
async function attest(provider: QuoteProvider, reportData: Uint8Array): Promise<Evidence> {
  let ev: Evidence;
  try {
    ev = await provider.getEvidence(reportData);
  } catch (e) {
    if (e instanceof RatlsError) throw e;
    throw new ProviderError(
      'ERR_PROVIDER_FAILED',
      'provider',
      `${provider.name}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  if (typeof ev !== 'object' || ev === null || !(ev.evidence instanceof Uint8Array) || ev.evidence.length === 0) {
    throw new ProviderError(
      'ERR_PROVIDER_UNEXPECTED_OUTPUT',
      'provider',
      `${provider.name}: getEvidence() returned no evidence bytes`,
    );
  }
  if (ev.tee !== provider.tee) {
    throw new ProviderError(
      'ERR_PROVIDER_TEE_MISMATCH',
      'provider',
      `${provider.name}: declares ${provider.tee} but returned ${String(ev.tee)} evidence`,
    );
  }
  if (ev.evidence.length > MAX_EVIDENCE_BYTES) {
    throw new ProviderError(
      'ERR_PROVIDER_OUTPUT_TOO_LARGE',
      'provider',
      `${provider.name}: evidence of ${ev.evidence.length} bytes exceeds the ${MAX_EVIDENCE_BYTES}-byte limit`,
    );
  }
  if (ev.tee === 'nitro') checkNitroUserData(ev.evidence, reportData, provider);
  else checkEchoedReportData(ev.tee, ev.evidence, reportData, provider.name);
  return ev;
}

/**
 * Makes a self-signed certificate for `keyPair` carrying fresh evidence from `provider`.
 *
 * @example
 * const keyPair = await generateKeyPair();
 * const cert = await buildRaTlsCertificate({ keyPair, provider: await detectQuoteProvider(), altNames: ['svc.local'] });
 * tls.createServer({ key: exportPrivateKeyPem(keyPair), cert: cert.pem });
 */
export async function buildRaTlsCertificate(opts: BuildRaTlsCertificateOptions): Promise<RaTlsCertificate> {
  checkOptions(opts);
  const format = opts.format ?? 'dice';
  const { keyPair, provider } = opts;
  const now = (opts.clock ?? Date.now)();
  // Copy: the caller's Date is not ours to round.
  const notBefore = new Date(opts.notBefore?.getTime() ?? now - DEFAULT_BACKDATE_SECONDS * 1000);
  const notAfter = new Date(now + (opts.validitySeconds ?? DEFAULT_VALIDITY_SECONDS) * 1000);
  // X.509 times have one-second resolution; keep the returned dates equal to what is encoded.
  notBefore.setUTCMilliseconds(0);
  notAfter.setUTCMilliseconds(0);
  if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) {
    throw new ConfigError(
      'ERR_CONFIG_VALIDITY',
      'certificate',
      'buildRaTlsCertificate: notBefore or the clock is not a valid time',
    );
  }
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new ConfigError(
      'ERR_CONFIG_VALIDITY',
      'certificate',
      'buildRaTlsCertificate: notBefore must be earlier than now + validitySeconds',
    );
  }

  // Check the format fits the TEE and the CA is usable before asking for a quote: bad
  // configuration should not cost an attestation. (attest() holds the evidence to provider.tee.)
  if ((format === 'gramine' || format === 'both') && provider.tee !== 'sgx') {
    throw new CertificateError(
      'ERR_CERT_FORMAT_UNSUPPORTED',
      'certificate',
      `buildRaTlsCertificate: the Gramine legacy extension carries SGX quotes, not ${provider.tee}`,
    );
  }
  if (format !== 'gramine') diceTagFor(provider.tee);
  const issuer = opts.issuer ? await prepareIssuer(opts.issuer) : undefined;
  const attestations: CertificateAttestation[] = [];
  const extensions: x509.Extension[] = [];
  if (format === 'gramine' || format === 'both') {
    const reportData = gramineReportData(keyPair.spkiDer);
    const evidence = await attest(provider, reportData);
    attestations.push({ format: 'gramine', reportData, evidence });
    // Encoding the mis-parsed arc reproduces Gramine's bytes: 06 0b 06 09 2a 86 48 86 f8 4d 8a 39 06.
    extensions.push(new x509.Extension(OID_GRAMINE_QUOTE_MISENCODED, false, evidence.evidence));
  }
  if (format === 'dice' || format === 'both') {
    const claims = diceClaimsFor(keyPair.spkiDer, opts.nonce);
    const reportData = diceReportData(claims);
    const evidence = await attest(provider, reportData);
    const value = encodeDiceTaggedEvidence(diceTagFor(evidence.tee), evidence.evidence, claims);
    attestations.push({ format: 'dice', reportData, claims, evidence });
    extensions.push(new x509.Extension(OID_DICE_TAGGED_EVIDENCE, false, value));
    // The SNP certificate table (VCEK, ASK, ARK) lets verifiers appraise without reaching AMD KDS.
    if (evidence.tee === 'sev-snp' && evidence.aux) {
      extensions.push(new x509.Extension(OID_DICE_ENDORSEMENTS, false, encodeSnpEndorsements(evidence.aux)));
    }
  }

  const names = (opts.altNames ?? []).map((n) => ({
    type: isIP(n) === 0 ? ('dns' as const) : ('ip' as const),
    value: n,
  }));
  const standard: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
    await x509.SubjectKeyIdentifierExtension.create(keyPair.cryptoKeys.publicKey),
  ];
  if (names.length > 0) standard.push(new x509.SubjectAlternativeNameExtension(names, false));

  const serial = randomBytes(16);
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01; // positive, no leading zero octet (RFC 5280 §4.1.2.2)
  const common = {
    serialNumber: serial.toString('hex'),
    notBefore,
    notAfter,
    extensions: [...standard, ...(issuer ? [issuer.authorityKeyId] : []), ...extensions],
  };
  const name = [{ CN: [opts.subject ?? DEFAULT_SUBJECT_CN] }];
  let cert: x509.X509Certificate;
  try {
    cert = issuer
      ? await x509.X509CertificateGenerator.create({
          ...common,
          subject: name,
          issuer: issuer.cert.subjectName,
          publicKey: keyPair.cryptoKeys.publicKey,
          signingKey: issuer.signingKey,
          signingAlgorithm: { name: 'ECDSA', hash: issuer.hash },
        })
      : await x509.X509CertificateGenerator.createSelfSigned({
          ...common,
          name,
          keys: keyPair.cryptoKeys,
          signingAlgorithm: { name: 'ECDSA', hash: SIGNATURE_HASH[keyPair.keyType] },
        });
  } catch (e) {
    throw new CertificateError(
      'ERR_CERT_BUILD',
      'certificate',
      `buildRaTlsCertificate: signing failed (${e instanceof Error ? e.message : String(e)})`,
      { cause: e },
    );
  }
  const der = new Uint8Array(cert.rawData);
  if (der.length > MAX_RATLS_CERT_BYTES) {
    throw new CertificateError(
      'ERR_CERT_TOO_LARGE',
      'certificate',
      `buildRaTlsCertificate: certificate of ${der.length} bytes exceeds the ${MAX_RATLS_CERT_BYTES}-byte limit verifiers apply`,
    );
  }
  return { pem: cert.toString('pem'), der, notBefore, notAfter, attestations };
}
