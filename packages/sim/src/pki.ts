/** Certificates and CRLs of the simulated hierarchy, built with @peculiar/x509 (ECDSA P-256 / SHA-256). */
import { randomBytes } from 'node:crypto';
import { x509 } from '@ratls/attester/x509';
import { writePem } from '@ratls/evidence';
import { int } from './der.js';
import type { SimKey } from './keys.js';

const ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const OID_CRL_NUMBER = '2.5.29.20';

/** A positive 16-byte serial number, hex. */
export function newSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] as number) & 0x7f) | 0x01;
  return b.toString('hex');
}

export interface IssueParams {
  subject: string;
  subjectKey: SimKey;
  issuer: string;
  issuerKey: SimKey;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  /** Path length for a CA. */
  pathLength?: number;
  /** Extra extensions (the PCK leaf's SGX extension). */
  extra?: { oid: string; der: Uint8Array }[];
}

/** Issues a certificate; returns its PEM. Key usage follows Intel's profile (CA: keyCertSign|cRLSign; leaf: digitalSignature|nonRepudiation). */
export async function issueCertificate(p: IssueParams): Promise<string> {
  const F = x509.KeyUsageFlags;
  const usage = p.ca ? F.keyCertSign | F.cRLSign : F.digitalSignature | F.nonRepudiation;
  const extensions: x509.Extension[] = [
    await x509.AuthorityKeyIdentifierExtension.create(p.issuerKey.publicKey),
    await x509.SubjectKeyIdentifierExtension.create(p.subjectKey.publicKey),
    new x509.KeyUsagesExtension(usage, true),
    new x509.BasicConstraintsExtension(p.ca, p.ca ? p.pathLength : undefined, true),
    ...(p.extra ?? []).map((e) => new x509.Extension(e.oid, false, e.der)),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: p.subject,
    issuer: p.issuer,
    notBefore: p.notBefore,
    notAfter: p.notAfter,
    signingAlgorithm: ALG,
    publicKey: p.subjectKey.publicKey,
    signingKey: p.issuerKey.signingKey,
    extensions,
  });
  // RFC 7468: every block ends with a line break, so chains can be concatenated.
  return writePem(new Uint8Array(cert.rawData), 'CERTIFICATE');
}

export interface CrlParams {
  issuer: string;
  issuerKey: SimKey;
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  /** Revoked serials, hex. */
  revoked: { serial: string; at: Date }[];
}

/** Issues a CRL (with CRL Number and Authority Key Identifier, as Intel's do); returns DER. */
export async function issueCrl(p: CrlParams): Promise<Uint8Array> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: p.issuer,
    thisUpdate: p.thisUpdate,
    nextUpdate: p.nextUpdate,
    signingAlgorithm: ALG,
    signingKey: p.issuerKey.signingKey,
    extensions: [
      new x509.Extension(OID_CRL_NUMBER, false, int(p.crlNumber)),
      await x509.AuthorityKeyIdentifierExtension.create(p.issuerKey.publicKey),
    ],
    entries: p.revoked.map((r) => ({ serialNumber: r.serial, revocationDate: r.at })),
  });
  return new Uint8Array(crl.rawData);
}

/** Serial number (hex, lower case) of a PEM certificate. */
export function serialOf(pem: string): string {
  return new x509.X509Certificate(pem).serialNumber.toLowerCase();
}
