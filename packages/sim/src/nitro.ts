/**
 * A simulated AWS Nitro Enclaves NSM: a P-384 root and intermediate (each subject carrying
 * SIMULATION_MARKER), a fresh P-384 leaf per provider (as each real enclave gets its own
 * short-lived leaf), and COSE_Sign1 ES384 attestation documents with pcrs, user_data and nonce,
 * laid out per the AWS attestation document spec. Nothing here is secure: keys sit in `<dir>/nitro/`.
 */
import { createPrivateKey, sign, webcrypto } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Evidence, QuoteProvider } from '@ratls/attester';
import { checkReportData } from '@ratls/attester';
import { x509 } from '@ratls/attester/x509';
import { ConfigError, concatBytes, fromHex, readPemOne } from '@ratls/evidence';
import { encode } from 'cbor2';
import { SIMULATION_MARKER } from './constants.js';
import { readSimFile, writeAtomic } from './files.js';

const subtle = webcrypto.subtle;
const EC384 = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const ES384 = { name: 'ECDSA', hash: 'SHA-384' } as const;
const DAY = 86_400_000;

export interface SimNitroState {
  dir: string;
  rootPem: string;
  interPem: string;
  interKeyPem: string;
}

function dn(cn: string): string {
  return `CN=${cn}, OU=AWS, O=${SIMULATION_MARKER}, C=US`;
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const b64 = Buffer.from(await subtle.exportKey('pkcs8', key)).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END PRIVATE KEY-----\n`;
}

async function importEc(pem: string): Promise<webcrypto.CryptoKey> {
  const der = createPrivateKey(pem).export({ format: 'der', type: 'pkcs8' });
  return subtle.importKey('pkcs8', der, EC384, false, ['sign']);
}

/** The simulator's own PEM files go through the same strict reader as everything else. */
function pemDer(pem: string): Uint8Array {
  return readPemOne(pem, 'CERTIFICATE');
}

/**
 * Creates `<dir>/nitro/`: `root.pem` (the simulated Nitro root, trusted only when configured),
 * `intermediate.pem`, their keys (mode 0600). Valid from `at` − 1 day for 10 years.
 * @example const nitro = await initNitroSimulation('/tmp/sim')
 */
export async function initNitroSimulation(dir: string, o: { at?: Date } = {}): Promise<SimNitroState> {
  const sub = join(dir, 'nitro');
  await mkdir(sub, { recursive: true, mode: 0o700 });
  const at = o.at ?? new Date();
  const notBefore = new Date(at.getTime() - DAY);
  const notAfter = new Date(at.getTime() + 3650 * DAY);
  const rootKeys = (await subtle.generateKey(EC384, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const interKeys = (await subtle.generateKey(EC384, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const caUsage = new x509.KeyUsagesExtension(
    x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
    true,
  );
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: dn('aws.nitro-enclaves'),
    notBefore,
    notAfter,
    keys: rootKeys,
    signingAlgorithm: ES384,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), caUsage],
  });
  const inter = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: dn('sim.region.aws.nitro-enclaves'),
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: interKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: ES384,
    extensions: [new x509.BasicConstraintsExtension(true, 1, true), caUsage],
  });
  const state: SimNitroState = {
    dir,
    rootPem: root.toString('pem'),
    interPem: inter.toString('pem'),
    interKeyPem: await pkcs8Pem(interKeys.privateKey),
  };
  await writeAtomic(sub, 'root.key.pem', await pkcs8Pem(rootKeys.privateKey), true);
  await writeAtomic(sub, 'intermediate.key.pem', state.interKeyPem, true);
  await writeAtomic(sub, 'intermediate.pem', state.interPem);
  await writeAtomic(sub, 'root.pem', state.rootPem);
  return state;
}

/**
 * Reads `<dir>/nitro/` back, creating it first when absent.
 * @example const nitro = await loadNitroSimulation('/tmp/sim')
 */
export async function loadNitroSimulation(dir: string): Promise<SimNitroState> {
  const sub = join(dir, 'nitro');
  const exists = await stat(join(sub, 'root.pem')).then(
    () => true,
    () => false,
  );
  if (!exists) return initNitroSimulation(dir);
  const [rootPem, interPem, interKeyPem] = await Promise.all(
    ['root.pem', 'intermediate.pem', 'intermediate.key.pem'].map((n) => readSimFile(sub, n)),
  );
  return { dir, rootPem: rootPem as string, interPem: interPem as string, interKeyPem: interKeyPem as string };
}

export interface SimulatedNitroOptions {
  /** PCRs by index, 48 bytes hex each (default PCR0/1/2 = 0x01…/0x02…/0x03…, others zero). */
  pcrs?: Record<number, string>;
  /** Debug-mode enclave: PCR0-2 all zero, as the NSM reports them in debug mode. */
  debug?: boolean;
  /** A nonce placed in every document. */
  nonce?: Uint8Array;
  /** `public_key` placed in every document. */
  publicKey?: Uint8Array;
  /** Milliseconds since the epoch for document timestamps and the leaf's validity; default Date.now. */
  clock?: () => number;
  /** Leaf lifetime from the provider's creation (default 1 day; real leaves live about 3 hours). */
  leafValiditySeconds?: number;
}

const PCR_COUNT = 16;

function pcrMap(o: SimulatedNitroOptions): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (let i = 0; i < PCR_COUNT; i++) {
    const given = o.pcrs?.[i];
    let v: Uint8Array = new Uint8Array(48);
    if (given !== undefined) {
      const clean = given.replace(/^0x/, '');
      if (!/^[0-9a-fA-F]{96}$/.test(clean))
        throw new ConfigError('ERR_SIM_CONFIG', 'sim', `PCR${i}: expected 48 bytes of hex`);
      v = fromHex(clean);
    } else if (i <= 2) {
      v.fill(i + 1);
    }
    if (o.debug && i <= 2) v = new Uint8Array(48);
    m.set(i, v);
  }
  return m;
}

/** CBOR of `["Signature1", protected, h'', payload]` (RFC 9052 §4.4), written by hand. */
function sigStructure(prot: Uint8Array, payload: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(0x84), encode('Signature1'), encode(prot), Uint8Array.of(0x40), encode(payload));
}

/**
 * QuoteProvider for the simulated NSM: `getEvidence(reportData)` returns an attestation document
 * whose `user_data` is the 64 report-data bytes (as `NitroNsmProvider` asks the NSM for).
 * @example
 * const provider = await SimulatedNitroProvider.create(await loadNitroSimulation(dir), { pcrs: { 0: pcr0 } });
 */
export class SimulatedNitroProvider implements QuoteProvider {
  readonly name = 'simulated-nitro';
  readonly tee = 'nitro' as const;
  readonly #o: SimulatedNitroOptions;
  readonly #pcrs: Map<number, Uint8Array>;
  readonly #cabundle: Uint8Array[];
  readonly #leafDer: Uint8Array;
  readonly #leafKeyPem: string;

  private constructor(o: SimulatedNitroOptions, cabundle: Uint8Array[], leafDer: Uint8Array, leafKeyPem: string) {
    this.#o = o;
    this.#pcrs = pcrMap(o);
    this.#cabundle = cabundle;
    this.#leafDer = leafDer;
    this.#leafKeyPem = leafKeyPem;
  }

  /** Issues this enclave's leaf certificate under the simulated intermediate. */
  static async create(state: SimNitroState, o: SimulatedNitroOptions = {}): Promise<SimulatedNitroProvider> {
    pcrMap(o);
    const now = (o.clock ?? Date.now)();
    const leafKeys = (await subtle.generateKey(EC384, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const inter = new x509.X509Certificate(state.interPem);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
        .toString('hex')
        .replace(/^./, '1'),
      subject: dn('i-sim-enc0.sim.aws.nitro-enclaves'),
      issuer: inter.subject,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + (o.leafValiditySeconds ?? 86_400) * 1000),
      publicKey: leafKeys.publicKey,
      signingKey: await importEc(state.interKeyPem),
      signingAlgorithm: ES384,
      extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
    });
    return new SimulatedNitroProvider(
      o,
      [pemDer(state.rootPem), pemDer(state.interPem)],
      new Uint8Array(leaf.rawData),
      await pkcs8Pem(leafKeys.privateKey),
    );
  }

  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    checkReportData(reportData, this.name);
    const o = this.#o;
    const payload = encode(
      new Map<string, unknown>([
        ['module_id', 'i-sim0000000000000-enc0000000000000'],
        ['digest', 'SHA384'],
        ['timestamp', (o.clock ?? Date.now)()],
        ['pcrs', this.#pcrs],
        ['certificate', this.#leafDer],
        ['cabundle', this.#cabundle],
        ['public_key', o.publicKey ?? null],
        ['user_data', reportData],
        ['nonce', o.nonce ?? null],
      ]),
    );
    const prot = encode(new Map([[1, -35]]));
    const sig = sign('sha384', sigStructure(prot, payload), {
      key: createPrivateKey(this.#leafKeyPem),
      dsaEncoding: 'ieee-p1363',
    });
    return { tee: 'nitro', evidence: encode([prot, new Map(), payload, new Uint8Array(sig)]) };
  }
}
