/**
 * Signer roles in the DCAP hierarchy (security finding 3): TCB info and QE identity verify only
 * under the TCB Signing certificate, and each PCK chain position takes only its own kind of
 * certificate. The simulated hierarchy stands in for Intel's (same roles, simulated names); a
 * real Intel case shows the Intel profile. (@ratls/sim is a test-only import here.)
 */
import assert from 'node:assert/strict';
import { KeyObject, sign, webcrypto } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type QuoteCollateralV3Json, toHex } from '@ratls/evidence';
import {
  buildCollateral,
  initSimulation,
  SIMULATION_MARKER,
  type SimState,
  SimulatedQuoteProvider,
  simulatedPckLeaf,
} from '@ratls/sim';
import { dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { x509 } from '@ratls/test-support/x509';
import { type TrustAnchor, trustAnchorFrom } from '../trust.js';
import { verifyPckChain } from './pck-chain.js';
import { verifyQuote } from './verify-quote.js';

type SimKey = SimState['root']['key'];

const AT = new Date('2026-03-01T12:00:00Z');
const LATER = new Date(AT.getTime() + 3_600_000);
const REPORT_DATA = new Uint8Array(64).fill(0x5a);
const ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const F = x509.KeyUsageFlags;

const simDn = (cn: string) => `CN=${cn}, O=${SIMULATION_MARKER}, L=Santa Clara, ST=CA, C=US`;
const ROOT = simDn('ratls Simulated SGX Root CA');
const TCB_SIGNING = simDn('ratls Simulated SGX TCB Signing');
const PLATFORM_CA = simDn('ratls Simulated SGX PCK Platform CA');
const PCK_LEAF = simDn('ratls Simulated SGX PCK Certificate');

let dir: string;
let sim: SimState;
let anchor: TrustAnchor;
let col: QuoteCollateralV3Json;
/** A quote of the simulated platform whose PCK TCB is the OutOfDate level. */
let outOfDateQuote: Uint8Array;
let pckLeaf: { certPem: string; key: SimKey };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-roles-'));
  sim = await initSimulation(dir, { at: AT });
  anchor = trustAnchorFrom(sim.root.certPem);
  col = (await buildCollateral(sim)).sgx;
  outOfDateQuote = (await new SimulatedQuoteProvider(sim, { tee: 'sgx', tcb: 'OutOfDate' }).getEvidence(REPORT_DATA))
    .evidence;
  pckLeaf = await simulatedPckLeaf(sim, 'sgx', 'OutOfDate');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface IssueOptions {
  subject: string;
  issuer: string;
  issuerKey: SimKey;
  /** undefined: no basicConstraints extension. */
  ca?: boolean;
  pathLength?: number;
  /** null: no keyUsage extension. */
  usage?: number | null;
  extra?: x509.Extension[];
}

/** A certificate under any key of the simulated hierarchy, with the extensions a test needs. */
async function issue(o: IssueOptions): Promise<{ certPem: string; key: SimKey }> {
  const key = (await webcryptoKey()) as SimKey;
  const extensions: x509.Extension[] = [...(o.extra ?? [])];
  if (o.ca !== undefined) extensions.push(new x509.BasicConstraintsExtension(o.ca, o.pathLength, true));
  const usage = o.usage === undefined ? F.digitalSignature | F.nonRepudiation : o.usage;
  if (usage !== null) extensions.push(new x509.KeyUsagesExtension(usage, true));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '0badc0de',
    subject: o.subject,
    issuer: o.issuer,
    notBefore: new Date(AT.getTime() - 86_400_000),
    notAfter: new Date(AT.getTime() + 86_400_000),
    signingAlgorithm: ALG,
    publicKey: key.publicKey,
    signingKey: o.issuerKey.signingKey,
    extensions,
  });
  return { certPem: `${cert.toString('pem')}\n`, key };
}

/** A fresh P-256 key in the SimKey shape (only what `issue` and `signJson` use). */
async function webcryptoKey(): Promise<Pick<SimKey, 'publicKey' | 'signingKey' | 'privateKey'>> {
  const pair = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  return { publicKey: pair.publicKey, signingKey: pair.privateKey, privateKey: KeyObject.from(pair.privateKey) };
}

const signJson = (key: SimKey, json: string): string =>
  toHex(new Uint8Array(sign('sha256', Buffer.from(json, 'utf8'), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })));

/** The reviewer's edit: the platform's OutOfDate level re-rated UpToDate. */
function reRated(): string {
  const forged = col.tcb_info.replace('"tcbStatus":"OutOfDate"', '"tcbStatus":"UpToDate"');
  assert.notEqual(forged, col.tcb_info, 'the simulated TCB info has an OutOfDate level');
  return forged;
}

type Target = 'tcb' | 'qe';

/** Collateral whose TCB info (or QE identity) is signed by `key` with `chainPem` as issuer chain. */
function signedBy(target: Target, key: SimKey, chainPem: string, json?: string): QuoteCollateralV3Json {
  if (target === 'tcb') {
    const text = json ?? reRated();
    return { ...col, tcb_info: text, tcb_info_signature: signJson(key, text), tcb_info_issuer_chain: chainPem };
  }
  const text = json ?? col.qe_identity;
  return {
    ...col,
    qe_identity: text,
    qe_identity_signature: signJson(key, text),
    qe_identity_issuer_chain: chainPem,
  };
}

const stepOf = (t: Target) => (t === 'tcb' ? 'tcb-info' : 'qe-identity');

async function refused(c: QuoteCollateralV3Json, code: string, step?: string): Promise<void> {
  await assert.rejects(verifyQuote(outOfDateQuote, c, { at: LATER, trustAnchors: [anchor] }), (e: unknown) => {
    const err = e as { code?: string; step?: string; message?: string };
    assert.equal(err.code, code, err.message);
    if (step) assert.equal(err.step, step);
    return true;
  });
}

describe('TCB signer role (finding 3)', () => {
  test('baseline: the simulated platform appraises OutOfDate', async () => {
    const r = await verifyQuote(outOfDateQuote, col, { at: LATER, trustAnchors: [anchor] });
    assert.equal(r.tcbStatus, 'OutOfDate');
  });

  test('the forged TCB info is well formed: signed by the real TCB Signing key it would re-rate the platform', async () => {
    // Shows the attack is real: only the signer's role stands between the forgery and UpToDate.
    const c = signedBy('tcb', sim.tcbSigning.key, col.tcb_info_issuer_chain);
    assert.equal((await verifyQuote(outOfDateQuote, c, { at: LATER, trustAnchors: [anchor] })).tcbStatus, 'UpToDate');
  });

  test('regression: TCB info re-rated UpToDate and signed with the platform PCK leaf key → ERR_TCB_SIGNER_ROLE', async () => {
    const chain = `${pckLeaf.certPem}${sim.platformCa.certPem}${sim.root.certPem}`;
    await refused(signedBy('tcb', pckLeaf.key, chain), 'ERR_TCB_SIGNER_ROLE', 'tcb-info');
  });

  for (const target of ['tcb', 'qe'] as const) {
    const what = target === 'tcb' ? 'TCB info' : 'QE identity';

    test(`${what} signed by the PCK leaf key (leaf + PCK CA + root) → ERR_TCB_SIGNER_ROLE`, async () => {
      const chain = `${pckLeaf.certPem}${sim.platformCa.certPem}${sim.root.certPem}`;
      await refused(signedBy(target, pckLeaf.key, chain), 'ERR_TCB_SIGNER_ROLE', stepOf(target));
    });

    test(`${what} signed by the PCK Platform CA (CA + root: two certificates) → ERR_TCB_SIGNER_ROLE`, async () => {
      const chain = `${sim.platformCa.certPem}${sim.root.certPem}`;
      await refused(signedBy(target, sim.platformCa.key, chain), 'ERR_TCB_SIGNER_ROLE', stepOf(target));
    });

    test(`${what}: a three-certificate issuer chain (exact signer name under an intermediate) → ERR_TCB_SIGNER_ROLE`, async () => {
      const signer = await issue({
        subject: TCB_SIGNING,
        issuer: PLATFORM_CA,
        issuerKey: sim.platformCa.key,
        ca: false,
      });
      const chain = `${signer.certPem}${sim.platformCa.certPem}${sim.root.certPem}`;
      await refused(signedBy(target, signer.key, chain), 'ERR_TCB_SIGNER_ROLE', stepOf(target));
    });

    test(`${what}: the signer alone (root left for the verifier to add) → ERR_TCB_SIGNER_ROLE`, async () => {
      await refused(signedBy(target, sim.tcbSigning.key, sim.tcbSigning.certPem), 'ERR_TCB_SIGNER_ROLE');
    });

    test(`${what}: a TCB Signing certificate on the Root CA CRL → ERR_TCB_SIGNER_REVOKED`, async () => {
      const signer = await issue({ subject: TCB_SIGNING, issuer: ROOT, issuerKey: sim.root.key, ca: false });
      const crl = await x509.X509CrlGenerator.create({
        issuer: ROOT,
        thisUpdate: new Date(AT.getTime() - 3_600_000),
        nextUpdate: new Date(AT.getTime() + 86_400_000),
        signingAlgorithm: ALG,
        signingKey: sim.root.key.signingKey,
        entries: [{ serialNumber: new x509.X509Certificate(signer.certPem).serialNumber, revocationDate: AT }],
      });
      const c = {
        ...signedBy(target, signer.key, `${signer.certPem}${sim.root.certPem}`),
        root_ca_crl: toHex(new Uint8Array(crl.rawData)),
      };
      await refused(c, 'ERR_TCB_SIGNER_REVOKED', stepOf(target));
    });

    for (const [label, subject] of [
      ['another CN', simDn('ratls Simulated SGX TCB Signer')],
      [
        'the right attributes in another order',
        `O=${SIMULATION_MARKER}, CN=ratls Simulated SGX TCB Signing, L=Santa Clara, ST=CA, C=US`,
      ],
      ['an extra OU', `${TCB_SIGNING}, OU=extra`],
      [
        "Intel's name under the simulated root",
        'CN=Intel SGX TCB Signing, O=Intel Corporation, L=Santa Clara, ST=CA, C=US',
      ],
    ] as const) {
      test(`${what}: signer subject with ${label} → ERR_TCB_SIGNER_ROLE`, async () => {
        const signer = await issue({ subject, issuer: ROOT, issuerKey: sim.root.key, ca: false });
        await refused(signedBy(target, signer.key, `${signer.certPem}${sim.root.certPem}`), 'ERR_TCB_SIGNER_ROLE');
      });
    }

    for (const [label, o] of [
      ['cA=true', { ca: true }],
      ['no keyUsage', { ca: false, usage: null }],
      ['keyUsage without digitalSignature', { ca: false, usage: F.nonRepudiation }],
    ] as const) {
      test(`${what}: signer with ${label} → ERR_TCB_SIGNER_ROLE`, async () => {
        const signer = await issue({ subject: TCB_SIGNING, issuer: ROOT, issuerKey: sim.root.key, ...o });
        await refused(signedBy(target, signer.key, `${signer.certPem}${sim.root.certPem}`), 'ERR_TCB_SIGNER_ROLE');
      });
    }
  }

  test('the role rules accept a signer with the exact name, no basicConstraints and digitalSignature only', async () => {
    const signer = await issue({
      subject: TCB_SIGNING,
      issuer: ROOT,
      issuerKey: sim.root.key,
      usage: F.digitalSignature,
    });
    const c = signedBy('tcb', signer.key, `${signer.certPem}${sim.root.certPem}`, col.tcb_info);
    assert.equal((await verifyQuote(outOfDateQuote, c, { at: LATER, trustAnchors: [anchor] })).tcbStatus, 'OutOfDate');
  });
});

describe('TCB signer role under the real Intel SGX Root CA', { skip: SKIP_NO_VECTORS }, () => {
  const c = dcapCases().find((x) => x.name === 'sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06');

  test('Intel PCK Platform CA presented as TCB signer → ERR_TCB_SIGNER_ROLE', async () => {
    assert.ok(c);
    const j = JSON.parse(readVectorText(c.collateral)) as QuoteCollateralV3Json;
    const forged = { ...j, tcb_info_issuer_chain: j.pck_crl_issuer_chain };
    await assert.rejects(verifyQuote(readVector(c.quote), forged, { at: c.at }), {
      code: 'ERR_TCB_SIGNER_ROLE',
      step: 'tcb-info',
    });
  });
});

describe('PCK chain roles', () => {
  const at = LATER.getTime() / 1000;
  const pem = (...certs: string[]) => certs.join('');
  const pckLeafOf = (issuer: string, issuerKey: SimKey, o: Partial<IssueOptions> = {}) =>
    issue({ subject: PCK_LEAF, issuer, issuerKey, ca: false, ...o });

  test('the simulated leaf ← Platform CA ← root is accepted', () => {
    const pck = verifyPckChain(pem(pckLeaf.certPem, sim.platformCa.certPem, sim.root.certPem), [anchor], at);
    assert.equal(pck.pckCa, 'platform');
  });

  test('a TCB Signing certificate as the intermediate → ERR_PCK_CHAIN_ROLE', async () => {
    const leaf = await pckLeafOf(TCB_SIGNING, sim.tcbSigning.key);
    assert.throws(() => verifyPckChain(pem(leaf.certPem, sim.tcbSigning.certPem, sim.root.certPem), [anchor], at), {
      code: 'ERR_PCK_CHAIN_ROLE',
      step: 'pck-chain',
    });
  });

  test('a PCK leaf as the intermediate → ERR_PCK_CHAIN_ROLE', async () => {
    const leaf = await pckLeafOf(PCK_LEAF, pckLeaf.key);
    assert.throws(() => verifyPckChain(pem(leaf.certPem, pckLeaf.certPem, sim.root.certPem), [anchor], at), {
      code: 'ERR_PCK_CHAIN_ROLE',
    });
  });

  test('a leaf that is a CA → ERR_PCK_CHAIN_ROLE', async () => {
    const leaf = await pckLeafOf(PLATFORM_CA, sim.platformCa.key, { ca: true });
    assert.throws(() => verifyPckChain(pem(leaf.certPem, sim.platformCa.certPem, sim.root.certPem), [anchor], at), {
      code: 'ERR_PCK_CHAIN_ROLE',
    });
  });

  test('a leaf without digitalSignature → ERR_PCK_CHAIN_ROLE', async () => {
    const leaf = await pckLeafOf(PLATFORM_CA, sim.platformCa.key, { usage: F.nonRepudiation });
    assert.throws(() => verifyPckChain(pem(leaf.certPem, sim.platformCa.certPem, sim.root.certPem), [anchor], at), {
      code: 'ERR_PCK_CHAIN_ROLE',
    });
  });

  test('a PCK CA without pathLenConstraint 0 → ERR_PCK_CHAIN_ROLE', async () => {
    const name = simDn('ratls Simulated SGX PCK Processor CA');
    const ca = await issue({
      subject: name,
      issuer: ROOT,
      issuerKey: sim.root.key,
      ca: true,
      usage: F.keyCertSign | F.cRLSign,
    });
    const leaf = await pckLeafOf(name, ca.key);
    assert.throws(() => verifyPckChain(pem(leaf.certPem, ca.certPem, sim.root.certPem), [anchor], at), {
      code: 'ERR_PCK_CHAIN_ROLE',
    });
  });

  test('a PCK CA named neither Platform CA nor Processor CA exactly → ERR_PCK_CA_UNKNOWN', async () => {
    const name = simDn('ratls Simulated SGX PCK Platform CA 2');
    const ca = await issue({
      subject: name,
      issuer: ROOT,
      issuerKey: sim.root.key,
      ca: true,
      pathLength: 0,
      usage: F.keyCertSign | F.cRLSign,
    });
    const leaf = await pckLeafOf(name, ca.key);
    assert.throws(() => verifyPckChain(pem(leaf.certPem, ca.certPem, sim.root.certPem), [anchor], at), {
      code: 'ERR_PCK_CA_UNKNOWN',
    });
  });

  test('a leaf whose CN only contains "SGX PCK Certificate" → ERR_PCK_CERT_INVALID', async () => {
    const leaf = await issue({
      subject: simDn('ratls Simulated SGX PCK Certificate (not)'),
      issuer: PLATFORM_CA,
      issuerKey: sim.platformCa.key,
      ca: false,
    });
    assert.throws(() => verifyPckChain(pem(leaf.certPem, sim.platformCa.certPem, sim.root.certPem), [anchor], at), {
      code: 'ERR_PCK_CERT_INVALID',
    });
  });

  test('the Platform CA as leaf (CA + root) → ERR_PCK_CHAIN_LENGTH', () => {
    assert.throws(() => verifyPckChain(pem(sim.platformCa.certPem, sim.root.certPem), [anchor], at), {
      code: 'ERR_PCK_CHAIN_LENGTH',
    });
  });

  test('an anchor that is neither Intel’s nor the simulator’s has no DCAP roles → ERR_PCK_CHAIN_ROLE', async () => {
    const pair = await webcryptoKey();
    const other = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=Some Other Root CA',
      keys: { publicKey: pair.publicKey, privateKey: pair.signingKey },
      serialNumber: '01',
      notBefore: new Date(AT.getTime() - 86_400_000),
      notAfter: new Date(AT.getTime() + 86_400_000),
      signingAlgorithm: ALG,
      extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(F.keyCertSign, true)],
    });
    const root = { ...pair, pem: '', raw: new Uint8Array() } as SimKey;
    const ca = await issue({
      subject: PLATFORM_CA,
      issuer: 'CN=Some Other Root CA',
      issuerKey: root,
      ca: true,
      pathLength: 0,
      usage: F.keyCertSign,
    });
    const leaf = await pckLeafOf(PLATFORM_CA, ca.key);
    const otherAnchor = trustAnchorFrom(other.toString('pem'));
    assert.throws(
      () => verifyPckChain(pem(leaf.certPem, ca.certPem, `${other.toString('pem')}\n`), [otherAnchor], at),
      {
        code: 'ERR_PCK_CHAIN_ROLE',
      },
    );
  });
});

describe('PCK CRL issuer chain roles', () => {
  test('the TCB Signing certificate as PCK CRL issuer → ERR_PCK_CHAIN_ROLE', async () => {
    const c = { ...col, pck_crl_issuer_chain: col.tcb_info_issuer_chain };
    await refused(c, 'ERR_PCK_CHAIN_ROLE', 'crl');
  });

  test('a three-certificate PCK CRL issuer chain → ERR_PCK_CHAIN_ROLE', async () => {
    const ca = await issue({
      subject: PLATFORM_CA,
      issuer: PLATFORM_CA,
      issuerKey: sim.platformCa.key,
      ca: true,
      pathLength: 0,
      usage: F.keyCertSign | F.cRLSign,
    });
    const c = { ...col, pck_crl_issuer_chain: `${ca.certPem}${sim.platformCa.certPem}${sim.root.certPem}` };
    await refused(c, 'ERR_PCK_CHAIN_ROLE', 'crl');
  });
});
