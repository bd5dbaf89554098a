/**
 * A simulated AMD SEV-SNP platform: an RSA-PSS ARK and ASK (as AMD's are), a P-384 VCEK carrying
 * the real AMD extensions (product name, bootloader/TEE/SNP/microcode SPLs, hwID = CHIP_ID), and
 * version 3 attestation reports signed by the VCEK. Every subject carries SIMULATION_MARKER, so a
 * verifier marks results `simulated: true` and trusts the ARK only when configured to.
 * Nothing here is secure: the keys sit in `<dir>/snp/`.
 */
import { createPrivateKey, randomBytes, sign, webcrypto } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Evidence, QuoteProvider } from '@ratls/attester';
import { checkReportData } from '@ratls/attester';
import { x509 } from '@ratls/attester/x509';
import {
  ConfigError,
  encodeSnpCertTable,
  encodeSnpTcb,
  fromHex,
  SNP_REPORT_OFFSETS as OFF,
  readPemOne,
  SNP_CERT_GUIDS,
  SNP_REPORT_SIZE,
  SNP_SIGNED_LENGTH,
  toHex,
} from '@ratls/evidence';
import { SIMULATION_MARKER } from './constants.js';
import { readSimFile, writeAtomic } from './files.js';

const subtle = webcrypto.subtle;
const PSS = { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as const;

const EC384 = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const DAY = 86_400_000;

/** Product lines the simulator makes (Milan/Genoa TCB layout). */
export type SimSnpProduct = 'Milan' | 'Genoa';

export interface SimSnpTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

/** A plausible Milan TCB (values seen on production Milan hosts). */
export const SIM_SNP_TCB: SimSnpTcb = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };

export interface SimSnpState {
  dir: string;
  product: SimSnpProduct;
  chipId: Uint8Array;
  tcb: SimSnpTcb;
  arkPem: string;
  askPem: string;
  vcekPem: string;
  /** KDS-style chain: ASK then ARK. */
  chainPem: string;
  vcekKeyPem: string;
}

interface SnpStateFile {
  version: 1;
  product: SimSnpProduct;
  chipId: string;
  tcb: SimSnpTcb;
}

function dn(cn: string): string {
  return `CN=${cn}, OU=Engineering, O=${SIMULATION_MARKER}, L=Santa Clara, ST=CA, C=US`;
}

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const b64 = Buffer.from(await subtle.exportKey('pkcs8', key)).toString('base64');
  return `-----BEGIN PRIVATE KEY-----\n${(b64.match(/.{1,64}/g) ?? []).join('\n')}\n-----END PRIVATE KEY-----\n`;
}

/** DER INTEGER for a small non-negative number (the SPL extensions' encoding). */
function derInt(n: number): ArrayBuffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] as number) & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]).buffer;
}

function derIa5(s: string): ArrayBuffer {
  return new Uint8Array([0x16, s.length, ...Buffer.from(s, 'latin1')]).buffer;
}

async function issueVcek(
  product: SimSnpProduct,
  tcb: SimSnpTcb,
  chipId: Uint8Array,
  ask: x509.X509Certificate,
  askKey: webcrypto.CryptoKey,
  notBefore: Date,
  notAfter: Date,
): Promise<{ pem: string; keyPem: string }> {
  const keys = (await subtle.generateKey(EC384, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  // AMD VCEK extensions (AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface
  // Specification", Table 8): productName, blSPL, teeSPL, snpSPL, ucodeSPL, hwID.
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '00',
    subject: dn('SEV-VCEK'),
    issuer: ask.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: askKey,
    signingAlgorithm: PSS,
    extensions: [
      new x509.Extension('1.3.6.1.4.1.3704.1.2', false, derIa5(`${product}-B0`)),
      new x509.Extension('1.3.6.1.4.1.3704.1.3.1', false, derInt(tcb.bootloader)),
      new x509.Extension('1.3.6.1.4.1.3704.1.3.2', false, derInt(tcb.tee)),
      new x509.Extension('1.3.6.1.4.1.3704.1.3.3', false, derInt(tcb.snp)),
      new x509.Extension('1.3.6.1.4.1.3704.1.3.8', false, derInt(tcb.microcode)),
      new x509.Extension('1.3.6.1.4.1.3704.1.4', false, new Uint8Array(chipId).buffer),
    ],
  });
  return { pem: cert.toString('pem'), keyPem: await pkcs8Pem(keys.privateKey) };
}

/**
 * Creates `<dir>/snp/`: `ark.pem` (the simulated ARK, a trust anchor only when configured),
 * `cert_chain.pem` (ASK then ARK, as KDS serves it), `vcek.pem`, keys (mode 0600) and `state.json`.
 * Certificates are valid from `at` − 1 day for 10 years.
 * @example const snp = await initSnpSimulation('/tmp/sim'); new SimulatedSnpProvider(snp, { measurement })
 */
export async function initSnpSimulation(
  dir: string,
  o: { product?: SimSnpProduct; at?: Date; tcb?: SimSnpTcb } = {},
): Promise<SimSnpState> {
  const product = o.product ?? 'Milan';
  if (product !== 'Milan' && product !== 'Genoa') {
    throw new ConfigError(
      'ERR_SIM_CONFIG',
      'sim',
      `simulated SNP product must be Milan or Genoa, got ${String(product)}`,
    );
  }
  const tcb = o.tcb ?? SIM_SNP_TCB;
  const sub = join(dir, 'snp');
  await mkdir(sub, { recursive: true, mode: 0o700 });
  const at = o.at ?? new Date();
  const notBefore = new Date(at.getTime() - DAY);
  const notAfter = new Date(at.getTime() + 3650 * DAY);
  const rsa = {
    name: 'RSA-PSS',
    modulusLength: 2048,
    publicExponent: new Uint8Array([1, 0, 1]),
    hash: 'SHA-384',
  } as const;
  const arkKeys = (await subtle.generateKey(rsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const askKeys = (await subtle.generateKey(rsa, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ark = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: dn(`ARK-${product}`),
    notBefore,
    notAfter,
    keys: arkKeys,
    signingAlgorithm: PSS,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const ask = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: dn(`SEV-${product}`),
    issuer: ark.subject,
    notBefore,
    notAfter,
    publicKey: askKeys.publicKey,
    signingKey: arkKeys.privateKey,
    signingAlgorithm: PSS,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const chipId = new Uint8Array(randomBytes(64));
  const vcek = await issueVcek(product, tcb, chipId, ask, askKeys.privateKey, notBefore, notAfter);
  const arkPem = ark.toString('pem');
  const askPem = ask.toString('pem');
  const chainPem = `${askPem}\n${arkPem}\n`;
  await writeAtomic(sub, 'ark.key.pem', await pkcs8Pem(arkKeys.privateKey), true);
  await writeAtomic(sub, 'ask.key.pem', await pkcs8Pem(askKeys.privateKey), true);
  await writeAtomic(sub, 'vcek.key.pem', vcek.keyPem, true);
  await writeAtomic(sub, 'ark.pem', arkPem);
  await writeAtomic(sub, 'ask.pem', askPem);
  await writeAtomic(sub, 'cert_chain.pem', chainPem);
  await writeAtomic(sub, 'vcek.pem', vcek.pem);
  const f: SnpStateFile = { version: 1, product, chipId: toHex(chipId), tcb };
  await writeAtomic(sub, 'state.json', `${JSON.stringify(f, null, 2)}\n`);
  return { dir, product, chipId, tcb, arkPem, askPem, vcekPem: vcek.pem, chainPem, vcekKeyPem: vcek.keyPem };
}

/**
 * Reads `<dir>/snp/` back, creating it first when absent.
 * @example const snp = await loadSnpSimulation('/tmp/sim')
 */
export async function loadSnpSimulation(dir: string): Promise<SimSnpState> {
  const sub = join(dir, 'snp');
  const exists = await stat(join(sub, 'state.json')).then(
    () => true,
    () => false,
  );
  if (!exists) return initSnpSimulation(dir);
  const f = JSON.parse(await readSimFile(sub, 'state.json')) as SnpStateFile;
  if (f.version !== 1) throw new ConfigError('ERR_SIM_STATE', 'sim', `${sub}/state.json: unknown version`);
  const [arkPem, askPem, vcekPem, vcekKeyPem] = await Promise.all(
    ['ark.pem', 'ask.pem', 'vcek.pem', 'vcek.key.pem'].map((n) => readSimFile(sub, n)),
  );
  return {
    dir,
    product: f.product,
    chipId: fromHex(f.chipId),
    tcb: f.tcb,
    arkPem: arkPem as string,
    askPem: askPem as string,
    vcekPem: vcekPem as string,
    chainPem: `${askPem}\n${arkPem}\n`,
    vcekKeyPem: vcekKeyPem as string,
  };
}

export interface SimulatedSnpOptions {
  /** MEASUREMENT, 48 bytes hex (default 0x5a…). */
  measurement?: string;
  /** HOST_DATA, 32 bytes hex (default zero). */
  hostData?: string;
  /** Sets guest policy bit 19 (DEBUG). */
  debug?: boolean;
  /** Guest policy without the debug bit (default 0x30000: SMT allowed, reserved bit 17). */
  policy?: bigint;
  /** VMPL the report was requested at (default 0). */
  vmpl?: number;
  /** Leave the certificate table out of the evidence (verifiers then need `snp.vcek`/`chain` or KDS). */
  omitCertTable?: boolean;
}

function hexField(v: string | undefined, bytes: number, what: string, fill: number): Uint8Array {
  if (v === undefined) return new Uint8Array(bytes).fill(fill);
  const clean = v.replace(/^0x/, '');
  if (!/^[0-9a-fA-F]*$/.test(clean) || clean.length !== bytes * 2) {
    throw new ConfigError('ERR_SIM_CONFIG', 'sim', `${what}: expected ${bytes} bytes of hex`);
  }
  return fromHex(clean);
}

/**
 * QuoteProvider for the simulated SNP platform: `getEvidence(reportData)` returns a v3 report
 * signed by the simulated VCEK and, as configfs-tsm does, the certificate table as `aux`.
 * @example
 * const provider = new SimulatedSnpProvider(await loadSnpSimulation(dir), { measurement: 'ab'.repeat(48) });
 * const cert = await buildRaTlsCertificate({ keyPair, provider });
 */
export class SimulatedSnpProvider implements QuoteProvider {
  readonly name = 'simulated-sev-snp';
  readonly tee = 'sev-snp' as const;
  readonly #state: SimSnpState;
  readonly #measurement: Uint8Array;
  readonly #hostData: Uint8Array;
  readonly #policy: bigint;
  readonly #vmpl: number;
  readonly #aux: Uint8Array | undefined;

  constructor(state: SimSnpState, o: SimulatedSnpOptions = {}) {
    this.#state = state;
    this.#measurement = hexField(o.measurement, 48, 'measurement', 0x5a);
    this.#hostData = hexField(o.hostData, 32, 'hostData', 0);
    this.#policy = (o.policy ?? 0x30000n) | (o.debug ? 1n << 19n : 0n);
    const vmpl = o.vmpl ?? 0;
    if (!Number.isInteger(vmpl) || vmpl < 0 || vmpl > 3)
      throw new ConfigError('ERR_SIM_CONFIG', 'sim', 'vmpl must be 0..3');
    this.#vmpl = vmpl;
    this.#aux = o.omitCertTable
      ? undefined
      : encodeSnpCertTable([
          { guid: SNP_CERT_GUIDS.vcek, data: pemDer(state.vcekPem) },
          { guid: SNP_CERT_GUIDS.ask, data: pemDer(state.askPem) },
          { guid: SNP_CERT_GUIDS.ark, data: pemDer(state.arkPem) },
        ]);
  }

  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    checkReportData(reportData, this.name);
    const s = this.#state;
    const r = new Uint8Array(SNP_REPORT_SIZE);
    const dv = new DataView(r.buffer);
    dv.setUint32(OFF.version, 3, true);
    dv.setBigUint64(OFF.policy, this.#policy, true);
    dv.setUint32(OFF.vmpl, this.#vmpl, true);
    dv.setUint32(OFF.signatureAlgo, 1, true);
    const tcb = encodeSnpTcb(s.tcb, s.product);
    for (const off of [OFF.currentTcb, OFF.reportedTcb, OFF.committedTcb, OFF.launchTcb]) r.set(tcb, off);
    r.set(reportData, OFF.reportData);
    r.set(this.#measurement, OFF.measurement);
    r.set(this.#hostData, OFF.hostData);
    r.set(randomBytes(32), OFF.reportId);
    // CPUID family/model (v3+): Milan 19h/01h, Genoa 19h/11h.
    r[OFF.cpuidFamId] = 0x19;
    r[OFF.cpuidModId] = s.product === 'Milan' ? 0x01 : 0x11;
    r.set(s.chipId, OFF.chipId);
    const sig = sign('sha384', r.subarray(0, SNP_SIGNED_LENGTH), {
      key: createPrivateKey(s.vcekKeyPem),
      dsaEncoding: 'ieee-p1363',
    });
    // r and s: 72-byte little-endian fields (ABI spec Table 139).
    for (let i = 0; i < 48; i++) {
      r[OFF.signatureR + i] = sig[47 - i] as number;
      r[OFF.signatureS + i] = sig[95 - i] as number;
    }
    return this.#aux ? { tee: 'sev-snp', evidence: r, aux: this.#aux } : { tee: 'sev-snp', evidence: r };
  }
}

/** The simulator's own PEM files go through the same strict reader as everything else. */
function pemDer(pem: string): Uint8Array {
  return readPemOne(pem, 'CERTIFICATE');
}
