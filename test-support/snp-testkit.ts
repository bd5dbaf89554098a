/**
 * Test-only: a simulated AMD hierarchy (RSA-PSS ARK and ASK, a P-384 VCEK/VLEK with the AMD
 * extensions) and reports signed by it, so tests control both the report and the certificate.
 */
import { webcrypto } from 'node:crypto';
import { x509 } from '@ratls/attester/x509';
import {
  encodeSnpTcb,
  SNP_REPORT_OFFSETS as OFF,
  SNP_REPORT_SIZE,
  SNP_SIGNED_LENGTH,
  type SnpProduct,
} from '@ratls/evidence';
import { SIMULATION_MARKER } from '@ratls/verifier';

const subtle = webcrypto.subtle;
const PSS_ALG = { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as const;
const ECDSA_ALG = { name: 'ECDSA', hash: 'SHA-384' } as const;
type Keys = webcrypto.CryptoKeyPair;

export interface SimTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}

export interface SimAmd {
  product: SnpProduct;
  arkDer: Uint8Array;
  askDer: Uint8Array;
  /** PEM chain ASK then ARK, as KDS serves it. */
  chainPem: string;
  askKeys: Keys;
  arkKeys: Keys;
}

const NOT_BEFORE = new Date('2024-01-01T00:00:00Z');
const NOT_AFTER = new Date('2030-01-01T00:00:00Z');

function dn(cn: string): string {
  return `CN=${cn}, O=${SIMULATION_MARKER}`;
}

async function ecKeys(): Promise<Keys> {
  return (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as Keys;
}

async function rsaPss(): Promise<Keys> {
  return (await subtle.generateKey(
    { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-384' },
    true,
    ['sign', 'verify'],
  )) as Keys;
}

const made = new Map<string, Promise<SimAmd>>();

/** One hierarchy per (product, kind, alg) per process: RSA key generation is the slow part of the tests. */
export function simAmd(
  product: SnpProduct = 'Milan',
  kind: 'vcek' | 'vlek' = 'vcek',
  /** 'ecdsa' makes a look-alike hierarchy signed with ECDSA P-384 instead of RSA-PSS (negative tests). */
  alg: 'pss' | 'ecdsa' = 'pss',
): Promise<SimAmd> {
  const key = `${product}/${kind}/${alg}`;
  let p = made.get(key);
  if (!p) {
    p = makeSimAmd(product, kind, alg);
    made.set(key, p);
  }
  return p;
}

async function makeSimAmd(product: SnpProduct, kind: 'vcek' | 'vlek', alg: 'pss' | 'ecdsa'): Promise<SimAmd> {
  const gen = alg === 'pss' ? rsaPss : ecKeys;
  const arkKeys = await gen();
  const askKeys = await gen();
  const PSS = alg === 'pss' ? PSS_ALG : ECDSA_ALG;
  const ark = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: dn(`ARK-${product}`),
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    keys: arkKeys,
    signingAlgorithm: PSS,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  const ask = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: dn(kind === 'vcek' ? `SEV-${product}` : `SEV-VLEK-${product}`),
    issuer: ark.subject,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    publicKey: askKeys.publicKey,
    signingKey: arkKeys.privateKey,
    signingAlgorithm: PSS,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  return {
    product,
    arkDer: new Uint8Array(ark.rawData),
    askDer: new Uint8Array(ask.rawData),
    chainPem: `${ask.toString('pem')}\n${ark.toString('pem')}\n`,
    askKeys,
    arkKeys,
  };
}

const int = (n: number): ArrayBuffer => new Uint8Array(n >= 0x80 ? [0x02, 0x02, 0x00, n] : [0x02, 0x01, n]).buffer;
const ia5 = (s: string): ArrayBuffer => new Uint8Array([0x16, s.length, ...Buffer.from(s, 'latin1')]).buffer;

export interface SimLeaf {
  der: Uint8Array;
  keys: Keys;
}

/** A VCEK (or VLEK) signed by the simulated ASK, endorsing `tcb` and (VCEK) `chipId`. */
export async function simVcek(
  amd: SimAmd,
  o: { tcb: SimTcb; chipId?: Uint8Array; kind?: 'vcek' | 'vlek'; notAfter?: Date; productName?: string },
): Promise<SimLeaf> {
  const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify'])) as Keys;
  const kind = o.kind ?? 'vcek';
  const ext = [
    new x509.Extension(
      '1.3.6.1.4.1.3704.1.2',
      false,
      ia5(o.productName ?? (amd.product === 'Turin' ? 'Turin' : `${amd.product}-B0`)),
    ),
    new x509.Extension('1.3.6.1.4.1.3704.1.3.1', false, int(o.tcb.bootloader)),
    new x509.Extension('1.3.6.1.4.1.3704.1.3.2', false, int(o.tcb.tee)),
    new x509.Extension('1.3.6.1.4.1.3704.1.3.3', false, int(o.tcb.snp)),
    new x509.Extension('1.3.6.1.4.1.3704.1.3.8', false, int(o.tcb.microcode)),
  ];
  if (amd.product === 'Turin') ext.push(new x509.Extension('1.3.6.1.4.1.3704.1.3.9', false, int(o.tcb.fmc ?? 0)));
  if (kind === 'vcek' && o.chipId) {
    const id = amd.product === 'Turin' ? o.chipId.subarray(0, 8) : o.chipId;
    ext.push(new x509.Extension('1.3.6.1.4.1.3704.1.4', false, new Uint8Array(id).buffer));
  }
  const askCert = new x509.X509Certificate(amd.askDer);
  const PSS = amd.askKeys.privateKey.algorithm.name === 'ECDSA' ? ECDSA_ALG : PSS_ALG;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '00',
    subject: dn(kind === 'vcek' ? 'SEV-VCEK' : 'SEV-VLEK'),
    issuer: askCert.subject,
    notBefore: NOT_BEFORE,
    notAfter: o.notAfter ?? NOT_AFTER,
    publicKey: keys.publicKey,
    signingKey: amd.askKeys.privateKey,
    signingAlgorithm: PSS,
    extensions: ext,
  });
  return { der: new Uint8Array(cert.rawData), keys };
}

/** A report (version 3) with the given fields, signed by `leaf`. */
export async function simReport(
  leaf: SimLeaf,
  o: {
    product?: SnpProduct;
    tcb: SimTcb;
    chipId: Uint8Array;
    kind?: 'vcek' | 'vlek';
    policy?: bigint;
    reportData?: Uint8Array;
    measurement?: Uint8Array;
    signatureAlgo?: number;
    version?: number;
  },
): Promise<Uint8Array> {
  const r = new Uint8Array(SNP_REPORT_SIZE);
  const dv = new DataView(r.buffer);
  const product = o.product ?? 'Milan';
  dv.setUint32(OFF.version, o.version ?? 3, true);
  dv.setBigUint64(OFF.policy, o.policy ?? 0x30000n, true);
  dv.setUint32(OFF.signatureAlgo, o.signatureAlgo ?? 1, true);
  dv.setUint32(OFF.flags, (o.kind === 'vlek' ? 1 : 0) << 2, true);
  const tcb = encodeSnpTcb(o.tcb, product);
  for (const off of [OFF.currentTcb, OFF.reportedTcb, OFF.committedTcb, OFF.launchTcb]) r.set(tcb, off);
  r.set(o.reportData ?? new Uint8Array(64).fill(0xab), OFF.reportData);
  r.set(o.measurement ?? new Uint8Array(48).fill(0x5a), OFF.measurement);
  const [fam, model] = product === 'Milan' ? [0x19, 0x01] : product === 'Genoa' ? [0x19, 0x11] : [0x1a, 0x02];
  r[OFF.cpuidFamId] = fam as number;
  r[OFF.cpuidModId] = model as number;
  r.set(o.chipId, OFF.chipId);
  const sig = new Uint8Array(
    await subtle.sign({ name: 'ECDSA', hash: 'SHA-384' }, leaf.keys.privateKey, r.subarray(0, SNP_SIGNED_LENGTH)),
  );
  // r‖s big-endian (48 each) → little-endian 72-byte fields.
  for (let i = 0; i < 48; i++) {
    r[OFF.signatureR + i] = sig[47 - i] as number;
    r[OFF.signatureS + i] = sig[95 - i] as number;
  }
  return r;
}

/** A CRL signed by the simulated ARK (RSA-PSS SHA-384, salt 48), revoking the given serials (hex). */
export async function simCrl(
  amd: SimAmd,
  o: { revoked?: string[]; thisUpdate?: Date; nextUpdate?: Date; signer?: Keys },
): Promise<Uint8Array> {
  const ark = new x509.X509Certificate(amd.arkDer);
  const crl = await x509.X509CrlGenerator.create({
    issuer: ark.subject,
    thisUpdate: o.thisUpdate ?? new Date('2024-06-01T00:00:00Z'),
    nextUpdate: o.nextUpdate ?? new Date('2025-06-01T00:00:00Z'),
    entries: (o.revoked ?? []).map((serialNumber) => ({
      serialNumber,
      revocationDate: new Date('2024-05-01T00:00:00Z'),
    })),
    signingKey: (o.signer ?? amd.arkKeys).privateKey,
    signingAlgorithm: PSS_ALG,
  });
  return new Uint8Array(crl.rawData);
}
