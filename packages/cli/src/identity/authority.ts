/**
 * The identity issuing authority: a CA key and certificate, a trust domain and the lifetimes.
 * The operator provides the CA (an intermediate under the fleet root, name-constrained to the
 * trust domain, pathLen 0: see docs/identities.md), or `ensureAuthorityFiles` makes one once and
 * keeps it (key file mode 0600), so a restart does not change what relying parties trust.
 */
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { x509 } from '@ratls/attester/x509';
import { RatlsError } from '@ratls/evidence';
import { DEFAULT_FACTS_ARC, isSmallOid } from './facts.js';
import { OID_NAME_CONSTRAINTS, permittedUriHosts } from './intermediate.js';
import { newSerial } from './serial.js';
import { validTrustDomain } from './spiffe-id.js';

/** Default certificate and token lifetime: minutes, never years (issue 15). */
export const DEFAULT_TTL_SEC = 15 * 60;
/** The ceiling no configuration can raise. */
export const MAX_TTL_SEC = 60 * 60;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIG = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface AuthorityOptions {
  trustDomain: string;
  /** PEM of the CA's PKCS#8 (or SEC1) EC P-256 private key. */
  caKeyPem: string;
  /**
   * PEM of the issuing CA certificate, then the certificates above it (a fleet intermediate's
   * `ca.pem` holds the intermediate, then the root). Each must be signed by the next; a trailing
   * self-signed root is checked but not sent.
   */
  caChainPem: string;
  defaultTtlSec?: number;
  maxTtlSec?: number;
  /** The OID arc of the attested-facts extensions (see facts.ts). */
  factsArc?: string;
}

export interface IdentityAuthority {
  readonly trustDomain: string;
  readonly defaultTtlSec: number;
  readonly maxTtlSec: number;
  readonly factsArc: string;
  /** What follows the leaf in an issued chain: the issuing CA, then any non-root CAs above it (DER). */
  readonly chainDer: readonly Uint8Array[];
  readonly caCert: x509.X509Certificate;
  readonly signingKey: webcrypto.CryptoKey;
}

function configError(msg: string, cause?: unknown): RatlsError {
  return new RatlsError('ERR_IDENTITY_CONFIG', 'identity', msg, cause === undefined ? undefined : { cause });
}

function ttl(v: number | undefined, fallback: number, what: string): number {
  const t = v ?? fallback;
  if (!Number.isInteger(t) || t < 60 || t > MAX_TTL_SEC) {
    throw configError(`${what} must be an integer between 60 and ${MAX_TTL_SEC} seconds`);
  }
  return t;
}

function isSelfSigned(c: x509.X509Certificate): boolean {
  return c.subject === c.issuer;
}

/**
 * What the authority sends after the leaf: the issuing CA and any intermediates above it, but
 * no self-signed root behind them (RFC 8446 §4.4.2: a trust anchor may be omitted; relying
 * parties must hold it already, and sending it invites trusting whatever the peer sends). A
 * self-signed issuing CA (single gateway) is still sent, as before.
 */
function sentChain(chain: x509.X509Certificate[]): x509.X509Certificate[] {
  const out = chain.slice(0, 1);
  for (const c of chain.slice(1)) {
    if (isSelfSigned(c)) break;
    out.push(c);
  }
  return out;
}

/**
 * Each certificate of the configured chain must be signed by the next; an intermediate whose
 * name constraints leave out the trust domain would issue leaves every relying party refuses.
 */
async function checkChain(chain: x509.X509Certificate[], trustDomain: string): Promise<void> {
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as x509.X509Certificate;
    const parent = chain[i + 1] as x509.X509Certificate;
    let ok = false;
    try {
      ok =
        child.issuer === parent.subject && (await child.verify({ publicKey: parent.publicKey, signatureOnly: true }));
    } catch {
      ok = false;
    }
    if (!ok)
      throw configError(`identity CA chain: certificate ${i + 1} (${child.subject}) is not signed by the next one`);
  }
  const nc = chain[0]?.extensions.find((e) => e.type === OID_NAME_CONSTRAINTS);
  if (!nc) return;
  let hosts: string[] | undefined;
  try {
    hosts = permittedUriHosts(new Uint8Array(nc.value));
  } catch (e) {
    throw configError('identity CA nameConstraints extension is malformed', e);
  }
  // RFC 5280 §4.2.1.10: a host constraint matches that host; a leading period, its subdomains.
  const permits = (h: string) => h === trustDomain || (h.startsWith('.') && trustDomain.endsWith(h));
  if (hosts !== undefined && !hosts.some(permits)) {
    throw configError(
      `identity CA's name constraints permit URIs of ${hosts.join(', ')}, not the trust domain ${trustDomain}`,
    );
  }
}

/**
 * Loads an authority; checks the key matches the CA certificate and that it is a CA.
 * @example const ca = await loadAuthority({ trustDomain: 'prod.example.org', caKeyPem, caChainPem })
 */
export async function loadAuthority(o: AuthorityOptions): Promise<IdentityAuthority> {
  const trustDomain = validTrustDomain(o.trustDomain);
  const maxTtlSec = ttl(o.maxTtlSec, MAX_TTL_SEC, 'maxTtl');
  const defaultTtlSec = Math.min(ttl(o.defaultTtlSec, DEFAULT_TTL_SEC, 'defaultTtl'), maxTtlSec);
  const factsArc = o.factsArc ?? DEFAULT_FACTS_ARC;
  if (!isSmallOid(factsArc)) {
    throw configError(`factsArc ${JSON.stringify(factsArc.slice(0, 80))} is not a dotted OID with arcs below 10^9`);
  }
  let chain: x509.X509Certificate[];
  let signingKey: webcrypto.CryptoKey;
  try {
    chain = x509.PemConverter.decode(o.caChainPem).map((d) => new x509.X509Certificate(d));
    const pkcs8 = createPrivateKey(o.caKeyPem).export({ type: 'pkcs8', format: 'der' });
    signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC, false, ['sign']);
  } catch (e) {
    throw configError('identity CA key or certificate is unreadable (PEM, EC P-256 expected)', e);
  }
  const caCert = chain[0];
  if (!caCert) throw configError('identity CA certificate file holds no certificate');
  const bc = caCert.getExtension(x509.BasicConstraintsExtension);
  const ku = caCert.getExtension(x509.KeyUsagesExtension);
  if (!bc?.ca || !ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw configError('identity CA certificate is not a CA (basicConstraints cA and keyUsage keyCertSign required)');
  }
  await checkChain(chain, trustDomain);
  // A key that does not belong to the certificate would issue chains no relying party accepts.
  const probe = new Uint8Array(randomBytes(32));
  const sig = await webcrypto.subtle.sign(SIG, signingKey, probe);
  const pub = await caCert.publicKey.export(EC, ['verify']);
  if (!(await webcrypto.subtle.verify(SIG, pub, sig, probe))) {
    throw configError('identity CA key does not match the CA certificate');
  }
  return {
    trustDomain,
    defaultTtlSec,
    maxTtlSec,
    factsArc,
    chainDer: sentChain(chain).map((c) => new Uint8Array(c.rawData)),
    caCert,
    signingKey,
  };
}

/**
 * Makes a self-signed identity CA in `dir` (ca.key mode 0600, ca.pem) unless both exist, and
 * returns their paths. For a single gateway; a fleet uses one root and an intermediate each.
 * @example const { keyPath, certPath } = await ensureAuthorityFiles('/var/lib/ratls/identity', 'prod.example.org', Date.now())
 */
export async function ensureAuthorityFiles(
  dir: string,
  trustDomain: string,
  at: number,
): Promise<{ keyPath: string; certPath: string }> {
  const keyPath = join(dir, 'ca.key');
  const certPath = join(dir, 'ca.pem');
  if (existsSync(keyPath) && existsSync(certPath)) return { keyPath, certPath };
  if (existsSync(keyPath) || existsSync(certPath)) {
    throw configError(`${dir} holds only one of ca.key and ca.pem; restore the other or remove both`);
  }
  validTrustDomain(trustDomain);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const name = new x509.Name([{ CN: [`ratls identity CA ${trustDomain}`] }]);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: name,
    issuer: name,
    notBefore: new Date(at - 60_000),
    notAfter: new Date(at + 10 * 365 * 86_400_000),
    signingAlgorithm: SIG,
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  writeFileSync(keyPath, x509.PemConverter.encode(pkcs8.buffer, 'PRIVATE KEY'), { mode: 0o600, flag: 'wx' });
  writeFileSync(certPath, cert.toString('pem'), { flag: 'wx' });
  return { keyPath, certPath };
}

/**
 * Reads the files `ensureAuthorityFiles` (or the operator) wrote and loads the authority.
 * @example const ca = await authorityFromFiles({ keyPath, certPath, trustDomain: 'prod.example.org' })
 */
export async function authorityFromFiles(o: {
  keyPath: string;
  certPath: string;
  trustDomain: string;
  defaultTtlSec?: number;
  maxTtlSec?: number;
  factsArc?: string;
}): Promise<IdentityAuthority> {
  let caKeyPem: string;
  let caChainPem: string;
  try {
    caKeyPem = readFileSync(o.keyPath, 'utf8');
    caChainPem = readFileSync(o.certPath, 'utf8');
  } catch (e) {
    throw configError(`cannot read the identity CA files ${o.keyPath}, ${o.certPath}`, e);
  }
  return loadAuthority({ ...o, caKeyPem, caChainPem });
}
