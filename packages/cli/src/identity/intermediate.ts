/**
 * A fleet of gateways issuing under one offline root: `initFleetRoot` makes the root (its key
 * never leaves its folder), `createIntermediate` makes one intermediate per gateway, each with its
 * own new key, constrained so that a stolen gateway key can only ever issue identities of the
 * trust domain, and never another CA.
 *
 * The intermediate's extensions follow RFC 5280:
 * - basicConstraints cA=TRUE, pathLenConstraint 0, critical (§4.2.1.9: MUST be critical in CA
 *   certificates that validate signatures; pathLen 0 means no CA may follow it in a path);
 * - keyUsage keyCertSign + cRLSign, critical (§4.2.1.3: SHOULD be critical);
 * - nameConstraints, critical (§4.2.1.10: MUST be critical), one permitted subtree of type
 *   uniformResourceIdentifier whose base is the trust domain as a host: "the constraint MUST be
 *   specified as a fully qualified domain name and MAY specify a host or a domain", and a host
 *   matches the URI's host exactly, which for `spiffe://<trustDomain>/<path>` is the trust domain;
 *   and all IPv4 and IPv6 addresses excluded.
 * Root and intermediates carry the trust domain's own SPIFFE ID (`spiffe://<trustDomain>`, no
 * path) as their URI SAN, as SPIFFE signing certificates do; the intermediate command reads the
 * trust domain from the root's SAN, so the two cannot disagree.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { x509 } from '@ratls/attester/x509';
import { derChildren, derContent, derWrite, RatlsError, readDer, TAG_SEQUENCE } from '@ratls/evidence';
import { newSerial } from './serial.js';
import { validTrustDomain } from './spiffe-id.js';

/** id-ce-nameConstraints (RFC 5280 §4.2.1.10). */
export const OID_NAME_CONSTRAINTS = '2.5.29.30';
/** Root lifetime: it signs intermediates only, and stays offline. */
export const ROOT_DAYS = 10 * 365;
/** Default intermediate lifetime; leaves never outlive it. */
export const INTERMEDIATE_DAYS = 365;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY_MS = 86_400_000;
/** [0] IMPLICIT, constructed: permittedSubtrees. */
const TAG_PERMITTED = 0xa0;
/** [1] IMPLICIT, constructed: excludedSubtrees. */
const TAG_EXCLUDED = 0xa1;
/** GeneralName uniformResourceIdentifier [6] IMPLICIT IA5String. */
const TAG_GN_URI = 0x86;
/** GeneralName iPAddress [7] IMPLICIT OCTET STRING (address and mask in a constraint). */
const TAG_GN_IP = 0x87;

function configError(msg: string, cause?: unknown): RatlsError {
  return new RatlsError('ERR_IDENTITY_CONFIG', 'identity', msg, cause === undefined ? undefined : { cause });
}

/**
 * The DER value of a nameConstraints extension permitting only URIs whose host is `trustDomain`
 * and excluding every IP address:
 * `NameConstraints ::= SEQUENCE { permittedSubtrees [0] GeneralSubtrees, excludedSubtrees [1] GeneralSubtrees }`,
 * `GeneralSubtree ::= SEQUENCE { base GeneralName }` (minimum 0 and no maximum are DEFAULT/absent in DER).
 * The exclusions are 0.0.0.0/0 and ::/0 (§4.2.1.10: address then mask), so a stolen gateway key
 * cannot mint a certificate for an IP address either. DNS names are not excluded: OpenSSL checks
 * a DNS-like CN (`eu.payments`) against DNS constraints, which would refuse dotted identity names.
 * @example nameConstraintsValue('prod.example.org') // 30 48 a0 14 30 12 86 10 "prod.example.org" a1 30 …
 */
export function nameConstraintsValue(trustDomain: string): Uint8Array {
  const host = new TextEncoder().encode(validTrustDomain(trustDomain));
  const subtree = (base: Uint8Array) => derWrite(TAG_SEQUENCE, base);
  return derWrite(
    TAG_SEQUENCE,
    derWrite(TAG_PERMITTED, subtree(derWrite(TAG_GN_URI, host))),
    derWrite(
      TAG_EXCLUDED,
      subtree(derWrite(TAG_GN_IP, new Uint8Array(8))),
      subtree(derWrite(TAG_GN_IP, new Uint8Array(32))),
    ),
  );
}

/**
 * The URI hosts a nameConstraints value permits (undefined when it has no permitted URI subtree).
 * Read with the project's DER reader; a malformed value is `ERR_DER_MALFORMED`.
 * @example permittedUriHosts(nameConstraintsValue('prod.example.org')) // ['prod.example.org']
 */
export function permittedUriHosts(value: Uint8Array): string[] | undefined {
  const top = readDer(value, TAG_SEQUENCE);
  const permitted = derChildren(value, top).find((n) => n.tag === TAG_PERMITTED);
  if (!permitted) return undefined;
  const hosts: string[] = [];
  for (const subtree of derChildren(value, permitted)) {
    const base = derChildren(value, subtree)[0];
    if (base?.tag === TAG_GN_URI) hosts.push(new TextDecoder().decode(derContent(value, base)));
  }
  return hosts.length > 0 ? hosts : undefined;
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function writeKey(path: string, key: webcrypto.CryptoKey): Promise<void> {
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', key));
  // Exclusive create with mode 0600: never overwrite a key, never leave one world-readable.
  writeFileSync(path, x509.PemConverter.encode(pkcs8.buffer, 'PRIVATE KEY'), { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
}

function freshDir(dir: string, files: string[]): void {
  for (const f of files) {
    if (existsSync(join(dir, f))) throw configError(`${join(dir, f)} exists; refusing to overwrite a CA`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export interface CaFiles {
  keyPath: string;
  certPath: string;
}

/**
 * Makes the fleet root in `dir`: `root.key` (mode 0600) and `root.pem` (self-signed, cA, no
 * path length limit so it can sign pathLen-0 intermediates). Refuses to overwrite.
 * @example await initFleetRoot('/secure/root', 'prod.example.org', Date.now())
 */
export async function initFleetRoot(dir: string, trustDomain: string, at: number): Promise<CaFiles> {
  const td = validTrustDomain(trustDomain);
  const keyPath = join(dir, 'root.key');
  const certPath = join(dir, 'root.pem');
  freshDir(dir, ['root.key', 'root.pem']);
  const keys = await newKeyPair();
  const name = new x509.Name([{ CN: [`ratls identity root ${td}`] }]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: name,
    issuer: name,
    notBefore: new Date(at - 60_000),
    notAfter: new Date(at + ROOT_DAYS * DAY_MS),
    signingAlgorithm: SIG,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${td}` }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writeKey(keyPath, keys.privateKey);
  writeFileSync(certPath, cert.toString('pem'), { flag: 'wx' });
  return { keyPath, certPath };
}

/** The trust domain a root or intermediate names in its `spiffe://<td>` URI SAN. */
export function caTrustDomain(cert: x509.X509Certificate): string {
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uri = san?.names.items.find((n) => n.type === 'url')?.value;
  const m = uri ? /^spiffe:\/\/([^/]+)$/.exec(uri) : null;
  if (!m?.[1]) throw configError(`CA ${cert.subject} names no trust domain (URI SAN spiffe://<trustDomain>)`);
  return validTrustDomain(m[1]);
}

export interface IntermediateOptions {
  /** The folder `initFleetRoot` wrote (root.key, root.pem). Only read. */
  rootDir: string;
  /** The gateway's folder: ca.key (new key, 0600) and ca.pem (intermediate, then the root). */
  outDir: string;
  at: number;
  /** Names the gateway in the subject (default: random). */
  name?: string;
  days?: number;
}

/**
 * Makes a gateway's intermediate under the root: a new key (never the root's), name-constrained
 * to the root's trust domain, pathLen 0. `outDir` holds what the gateway's `identity:` section
 * loads (`ca.key`, `ca.pem`); the gateway sends the intermediate, never the root.
 * @example await createIntermediate({ rootDir: '/secure/root', outDir: '/etc/ratls/identity', at: Date.now(), name: 'gw-a' })
 */
export async function createIntermediate(o: IntermediateOptions): Promise<CaFiles & { trustDomain: string }> {
  const days = o.days ?? INTERMEDIATE_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > ROOT_DAYS) {
    throw configError(`intermediate lifetime must be 1-${ROOT_DAYS} days`);
  }
  const name = o.name ?? randomBytes(4).toString('hex');
  if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) throw configError('gateway name must be 1-32 of [A-Za-z0-9._-]');
  let root: x509.X509Certificate;
  let rootKey: webcrypto.CryptoKey;
  try {
    root = new x509.X509Certificate(readFileSync(join(o.rootDir, 'root.pem'), 'utf8'));
    const pem = readFileSync(join(o.rootDir, 'root.key'), 'utf8');
    rootKey = await webcrypto.subtle.importKey(
      'pkcs8',
      x509.PemConverter.decode(pem)[0] ?? new ArrayBuffer(0),
      EC,
      false,
      ['sign'],
    );
  } catch (e) {
    throw configError(`cannot read the fleet root in ${o.rootDir} (root.key, root.pem)`, e);
  }
  const td = caTrustDomain(root);
  const notAfterMs = Math.min(o.at + days * DAY_MS, root.notAfter.getTime());
  if (notAfterMs <= o.at) throw configError('the fleet root has expired');
  freshDir(o.outDir, ['ca.key', 'ca.pem']);
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: new x509.Name([{ CN: [`ratls identity gateway ${name} ${td}`] }]),
    issuer: root.subjectName,
    notBefore: new Date(o.at - 60_000),
    notAfter: new Date(notAfterMs),
    signingAlgorithm: SIG,
    publicKey: keys.publicKey,
    signingKey: rootKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.Extension(OID_NAME_CONSTRAINTS, true, nameConstraintsValue(td)),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${td}` }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(root),
    ],
  });
  const keyPath = join(o.outDir, 'ca.key');
  const certPath = join(o.outDir, 'ca.pem');
  await writeKey(keyPath, keys.privateKey);
  writeFileSync(certPath, `${cert.toString('pem')}\n${root.toString('pem')}\n`, { flag: 'wx' });
  return { keyPath, certPath, trustDomain: td };
}
