/** Test-only: builds certificates with chosen RA-TLS extensions (never imported by the library). */
import { webcrypto } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { x509 } from '@ratls/test-support/x509';

type KeyPair = webcrypto.CryptoKeyPair;

export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface TestCertOptions {
  extensions?: { oid: string; value: Uint8Array; critical?: boolean }[];
  dnsNames?: string[];
  notBefore?: Date;
  notAfter?: Date;
  keys?: KeyPair;
  name?: string;
}

export async function newKeys(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as KeyPair;
}

export async function spkiOf(keys: KeyPair): Promise<Uint8Array> {
  return new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
}

export async function buildCert(o: TestCertOptions): Promise<{ der: Uint8Array; keys: KeyPair; spki: Uint8Array }> {
  const keys = o.keys ?? (await newKeys());
  const extensions: x509.Extension[] = (o.extensions ?? []).map(
    (e) => new x509.Extension(e.oid, e.critical ?? false, e.value),
  );
  if (o.dnsNames)
    extensions.push(
      new x509.SubjectAlternativeNameExtension(o.dnsNames.map((value) => ({ type: 'dns' as const, value }))),
    );
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: o.name ?? 'CN=ratls test',
    notBefore: o.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: o.notAfter ?? new Date('2040-01-01T00:00:00Z'),
    keys,
    signingAlgorithm: EC_P256,
    extensions,
  });
  return { der: new Uint8Array(cert.rawData), keys, spki: await spkiOf(keys) };
}

/** DER of the first CERTIFICATE block (the Evervault files carry leaf then issuer). */
export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('no PEM certificate');
  return new Uint8Array(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
}

/** Extension values of a certificate, OID → bytes. */
export function extensionsOf(der: Uint8Array): Map<string, Uint8Array> {
  const cert = AsnConvert.parse(der, Certificate);
  return new Map((cert.tbsCertificate.extensions ?? []).map((e) => [e.extnID, new Uint8Array(e.extnValue.buffer)]));
}

/** SGX quote v3: report_data sits at header (48) + report body offset 320. */
export const SGX_V3_REPORT_DATA_OFFSET = 368;

export function withReportData(quote: Uint8Array, reportData: Uint8Array): Uint8Array {
  const q = quote.slice();
  q.set(reportData, SGX_V3_REPORT_DATA_OFFSET);
  return q;
}
