/** Test-only helpers: a simulated Nitro hierarchy and documents signed by it. Private to @ratls/test-support. */
import { webcrypto } from 'node:crypto';
import { x509 } from '@ratls/attester/x509';
import { coseSign1ToBeSigned } from '@ratls/verifier';
import { encode } from 'cbor2';

const subtle = webcrypto.subtle;
const EC384 = { name: 'ECDSA', namedCurve: 'P-384' } as const;
const SIGN384 = { name: 'ECDSA', hash: 'SHA-384' } as const;

export interface SimNitro {
  rootDer: Uint8Array;
  leafDer: Uint8Array;
  interDer: Uint8Array;
  leafKey: webcrypto.CryptoKeyPair;
}

export async function simNitroChain(
  opts: { leafCurve?: 'P-384' | 'P-256'; interIsCa?: boolean } = {},
): Promise<SimNitro> {
  const notBefore = new Date('2024-01-01T00:00:00Z');
  const notAfter = new Date('2024-01-02T00:00:00Z');
  const rootKey = (await subtle.generateKey(EC384, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const interKey = (await subtle.generateKey(EC384, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafKey = (await subtle.generateKey({ name: 'ECDSA', namedCurve: opts.leafCurve ?? 'P-384' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=sim-nitro-root',
    notBefore,
    notAfter,
    keys: rootKey,
    signingAlgorithm: SIGN384,
    extensions: [new x509.BasicConstraintsExtension(true, 3, true)],
  });
  const inter = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=sim-nitro-inter',
    issuer: root.subject,
    notBefore,
    notAfter,
    publicKey: interKey.publicKey,
    signingKey: rootKey.privateKey,
    signingAlgorithm: SIGN384,
    extensions: [new x509.BasicConstraintsExtension(opts.interIsCa ?? true, 2, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '03',
    subject: 'CN=sim-nitro-leaf',
    issuer: inter.subject,
    notBefore: new Date('2024-01-01T01:00:00Z'),
    notAfter: new Date('2024-01-01T04:00:00Z'),
    publicKey: leafKey.publicKey,
    signingKey: interKey.privateKey,
    signingAlgorithm: SIGN384,
  });
  return {
    rootDer: new Uint8Array(root.rawData),
    interDer: new Uint8Array(inter.rawData),
    leafDer: new Uint8Array(leaf.rawData),
    leafKey,
  };
}

export async function simNitroDoc(
  sim: SimNitro,
  over: { timestamp?: number; pcr0?: Uint8Array; nonce?: Uint8Array | null; cabundle?: Uint8Array[] } = {},
): Promise<Uint8Array> {
  const pcrs = new Map<number, Uint8Array>([
    [0, over.pcr0 ?? new Uint8Array(48).fill(7)],
    [1, new Uint8Array(48)],
  ]);
  const payload = encode(
    new Map<string, unknown>([
      ['module_id', 'i-sim-enc0'],
      ['digest', 'SHA384'],
      ['timestamp', over.timestamp ?? Date.parse('2024-01-01T02:00:00Z')],
      ['pcrs', pcrs],
      ['certificate', sim.leafDer],
      ['cabundle', over.cabundle ?? [sim.rootDer, sim.interDer]],
      ['public_key', null],
      ['user_data', new Uint8Array([1, 2, 3])],
      ['nonce', over.nonce === undefined ? new Uint8Array([9, 9]) : over.nonce],
    ]),
  );
  const prot = encode(new Map([[1, -35]]));
  const hash = sim.leafKey.publicKey.algorithm as webcrypto.EcKeyAlgorithm;
  const sig = new Uint8Array(
    await subtle.sign(
      { name: 'ECDSA', hash: hash.namedCurve === 'P-256' ? 'SHA-256' : 'SHA-384' },
      sim.leafKey.privateKey,
      coseSign1ToBeSigned(prot, payload),
    ),
  );
  const sig96 = sig.length === 96 ? sig : new Uint8Array(96).fill(1);
  return encode([prot, new Map(), payload, sig96]);
}
