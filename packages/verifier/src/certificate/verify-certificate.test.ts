import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CollateralError,
  concatBytes,
  encodeDiceClaims,
  encodeDiceTaggedEvidence,
  OID_DICE_TAGGED_EVIDENCE,
  OID_GRAMINE_QUOTE,
  OID_GRAMINE_QUOTE_MISENCODED,
  RatlsError,
  toHex,
} from '@ratls/evidence';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import { simNitroChain } from '@ratls/test-support/nitro-testkit';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { x509 } from '@ratls/test-support/x509';
import { encode } from 'cbor2';
import fc from 'fast-check';
import { collateralFromJson } from '../collateral/json.js';
import type { CollateralRequest, CollateralSource } from '../collateral/types.js';
import { createQuoteVerifier } from '../dcap/quote-verifier.js';
import { coseSign1ToBeSigned } from '../nitro/sig-structure.js';
import { type DcapResult, isVerifiedResult } from '../result.js';
import { intelSgxRootCa, trustAnchorFrom } from '../trust.js';
import { pemCertificates } from './input.js';
import { verifyCertificate } from './verify-certificate.js';

const skip = SKIP_NO_VECTORS;
const CCC = 'ra-tls/ccc-interoperable-ra-tls/';
const AT = 1756530546; // inside auto_sgx_2025-08's window
const COLLATERAL = 'dcap-cases/auto_sgx_2025-08.collateral.json';
const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type KeyPair = webcrypto.CryptoKeyPair;

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RatlsError, `not a RatlsError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

function pemToDer(pem: string): Uint8Array {
  return pemCertificates(pem)[0] as Uint8Array;
}

async function keys(): Promise<KeyPair> {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as KeyPair;
}

interface Build {
  extensions?: { oid: string; value: Uint8Array; critical?: boolean }[];
  dnsNames?: string[];
  notBefore?: Date;
  notAfter?: Date;
  keys?: KeyPair;
  issuer?: { name: string; keys: KeyPair };
  ca?: boolean;
  name?: string;
}

async function build(o: Build = {}): Promise<{ der: Uint8Array; keys: KeyPair; spki: Uint8Array }> {
  const k = o.keys ?? (await keys());
  const extensions: x509.Extension[] = (o.extensions ?? []).map(
    (e) => new x509.Extension(e.oid, e.critical ?? false, e.value),
  );
  if (o.dnsNames)
    extensions.push(
      new x509.SubjectAlternativeNameExtension(o.dnsNames.map((value) => ({ type: 'dns' as const, value }))),
    );
  if (o.ca) extensions.push(new x509.BasicConstraintsExtension(true, undefined, true));
  const common = {
    serialNumber: '02',
    notBefore: o.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: o.notAfter ?? new Date('2040-01-01T00:00:00Z'),
    signingAlgorithm: EC,
    extensions,
  };
  const cert = o.issuer
    ? await x509.X509CertificateGenerator.create({
        ...common,
        subject: o.name ?? 'CN=ratls leaf',
        issuer: o.issuer.name,
        publicKey: k.publicKey,
        signingKey: o.issuer.keys.privateKey,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({ ...common, name: o.name ?? 'CN=ratls test', keys: k });
  const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', k.publicKey));
  return { der: new Uint8Array(cert.rawData), keys: k, spki };
}

function gramineExtensions(): Map<string, Uint8Array> {
  const cert = new x509.X509Certificate(pemToDer(readVectorText(`${CCC}gramine-cert.pem`)));
  return new Map(cert.extensions.map((e) => [e.type, new Uint8Array(e.value)]));
}

/** A canned DCAP result: tests of the X.509 and binding stages do not need a real appraisal. */
function fakeVerifier(calls: Uint8Array[] = [], o: { forge?: boolean; hashOf?: Uint8Array } = {}) {
  return {
    async verify(quote: Uint8Array): Promise<DcapResult> {
      calls.push(quote);
      const r: DcapResult = {
        tee: 'sgx',
        simulated: true,
        evidenceSha256: toHex(nodeSha256(o.hashOf ?? quote)),
        debug: false,
        collateralWindow: { notBefore: 0, notAfter: 1 },
        quoteVersion: 3,
        tcbStatus: 'UpToDate',
        platformTcbStatus: 'UpToDate',
        qeTcbStatus: 'UpToDate',
        advisoryIds: [],
        fmspc: '000000000000',
        measurements: {
          mrEnclave: '',
          mrSigner: '',
          isvProdId: 0,
          isvSvn: 0,
          attributes: '',
          reportData: toHex(quote.subarray(368, 432)),
        },
      };
      return o.forge ? r : forgeVerifiedResult(r);
    },
  };
}

/** The Gramine legacy quote re-pointed at another key (signature no longer verifies; fine for fakes). */
function legacyQuoteFor(spki: Uint8Array): Uint8Array {
  const q = (gramineExtensions().get(OID_GRAMINE_QUOTE_MISENCODED) as Uint8Array).slice();
  q.set(concatBytes(new Uint8Array(Buffer.from(nodeSha256(spki))), new Uint8Array(32)), 368);
  return q;
}

function nodeSha256(b: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

describe('verifyCertificate: CCC certificates with real collateral', () => {
  test('Gramine certificate verifies: both quotes, debug + OutOfDate are facts', { skip }, async () => {
    const v = await verifyCertificate(readVectorText(`${CCC}gramine-cert.pem`), {
      at: AT,
      collateral: readVectorText(COLLATERAL),
    });
    assert.deepEqual(v.certificate.formats, ['gramine-legacy', 'tcg-dice']);
    assert.deepEqual(v.binding.rules, ['spki-sha256', 'dice-claims']);
    assert.equal(v.results.length, 2);
    for (const r of v.results) {
      assert.ok(isVerifiedResult(r));
      assert.equal(r.tee, 'sgx');
      assert.equal(r.debug, true);
      assert.equal(r.simulated, false);
      if (r.tee !== 'sgx') throw new Error('unreachable');
      assert.equal(r.tcbStatus, 'OutOfDate');
      assert.equal(r.fmspc, '00606a000000');
      assert.equal(r.measurements.mrEnclave, '0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585');
      assert.equal(r.measurements.mrSigner, 'adc53501f21ced9b998e37a7a18e061c63e00315045fa57a49c18ef0a30d02ca');
    }
    assert.notEqual(v.results[0]?.evidenceSha256, v.results[1]?.evidenceSha256);
    assert.ok(isVerifiedResult(v.result));
    assert.equal(v.certificate.subject, 'CN=RATLS, O=GramineDevelopers, C=US');
    assert.equal(v.certificate.notAfter, Date.parse('2030-12-31T23:59:59Z') / 1000);
    // DER in, same answer.
    const der = await verifyCertificate(pemToDer(readVectorText(`${CCC}gramine-cert.pem`)), {
      at: new Date(AT * 1000),
      collateral: readVectorText(COLLATERAL),
    });
    assert.equal(der.certificate.fingerprintSha256, v.certificate.fingerprintSha256);
  });

  test('Gramine certificate through a collateral source (FMSPC and PCK CA from the quote)', { skip }, async () => {
    const asked: CollateralRequest[] = [];
    const source: CollateralSource = {
      async getCollateral(req) {
        asked.push(req);
        return collateralFromJson(readVectorText(COLLATERAL));
      },
    };
    const v = await verifyCertificate(readVectorText(`${CCC}gramine-cert.pem`), { at: AT, collateralSource: source });
    assert.equal(v.results.length, 2);
    assert.deepEqual(asked[0], { tee: 'sgx', fmspc: '00606a000000', pckCa: 'platform' });
    assert.equal(asked.length, 1, 'the two quotes of one certificate share one quote verifier');
    // Reuse across calls is an explicit object the caller owns (no hidden module-level cache):
    // collateral is fetched and verified once for both calls.
    const quoteVerifier = createQuoteVerifier({ collateralSource: source });
    await verifyCertificate(readVectorText(`${CCC}gramine-cert.pem`), { at: AT, quoteVerifier });
    await verifyCertificate(readVectorText(`${CCC}gramine-cert.pem`), { at: AT + 60, quoteVerifier });
    assert.equal(asked.length, 2);
  });

  test('rats-tls certificate: refused, its X.509 validity ended 2024-02-22', { skip }, async () => {
    const pem = readVectorText(`${CCC}rats-tls-cert.pem`);
    assert.equal(
      await codeOf(verifyCertificate(pem, { at: AT, collateral: readVectorText(COLLATERAL) })),
      'ERR_CERT_EXPIRED',
    );
    assert.equal(
      await codeOf(
        verifyCertificate(pem, {
          at: Date.parse('2023-01-01T00:00:00Z') / 1000,
          collateral: readVectorText(COLLATERAL),
        }),
      ),
      'ERR_CERT_NOT_YET_VALID',
    );
    // Inside its validity, X.509 and binding pass (the fake verifier stands in for collateral of 2023).
    const calls: Uint8Array[] = [];
    const v = await verifyCertificate(pem, {
      at: Date.parse('2023-06-01T00:00:00Z') / 1000,
      quoteVerifier: fakeVerifier(calls),
    });
    assert.deepEqual(v.binding.rules, ['dice-claims']);
    assert.equal(calls.length, 1);
  });

  test('Intel SGX SDK certificate: one quote appraised once; collateral for another platform refused', {
    skip,
  }, async () => {
    const pem = readVectorText(`${CCC}intel-sgxsdk-cert.pem`);
    const code = await codeOf(verifyCertificate(pem, { at: AT, collateral: readVectorText(COLLATERAL) }));
    // The collateral is for FMSPC 00606a000000 under the Platform CA; this PCK is 00706a100000 under
    // the Processor CA, so the PCK CRL issuer check refuses it before the FMSPC comparison.
    assert.ok(['ERR_FMSPC_MISMATCH', 'ERR_CRL_ISSUER_MISMATCH'].includes(code), code);
    // Through a source, the request names this platform; a source without it refuses.
    const asked: CollateralRequest[] = [];
    const source: CollateralSource = {
      async getCollateral(req) {
        asked.push(req);
        throw new CollateralError('ERR_COLLATERAL_NOT_FOUND', 'collateral', `no collateral for FMSPC ${req.fmspc}`);
      },
    };
    assert.equal(
      await codeOf(verifyCertificate(pem, { at: AT, collateralSource: source })),
      'ERR_COLLATERAL_NOT_FOUND',
    );
    assert.deepEqual(asked, [{ tee: 'sgx', fmspc: '00706a100000', pckCa: 'processor' }]);
    const calls: Uint8Array[] = [];
    const v = await verifyCertificate(pem, { at: AT, quoteVerifier: fakeVerifier(calls) });
    assert.deepEqual(v.certificate.formats, ['intel-sgx-sdk', 'tcg-dice']);
    assert.deepEqual(v.binding.rules, ['same-quote-as-dice', 'dice-claims']);
    assert.equal(calls.length, 1);
  });

  test('2018 sgx-ra-tls certificate: refused (expired; SHA-1 signature; no key binding)', { skip }, async () => {
    const der = readVector('ra-tls/legacy-sgx-ra-tls-preproduction/ecdsa-ratls.der');
    const c = readVectorText(COLLATERAL);
    assert.equal(await codeOf(verifyCertificate(der, { at: AT, collateral: c })), 'ERR_CERT_EXPIRED');
    assert.equal(
      await codeOf(verifyCertificate(der, { at: Date.parse('2019-01-01T00:00:00Z') / 1000, collateral: c })),
      'ERR_CERT_SIGNATURE_ALGORITHM',
    );
  });

  test('expected nonce with evidence that carries none', { skip }, async () => {
    const code = await codeOf(
      verifyCertificate(readVectorText(`${CCC}gramine-cert.pem`), {
        at: AT,
        collateral: readVectorText(COLLATERAL),
        expectedNonce: Uint8Array.of(1),
      }),
    );
    assert.equal(code, 'ERR_BINDING_NONCE_MISSING');
  });
});

describe('verifyCertificate: X.509 and binding negatives', () => {
  const at = Date.parse('2025-01-01T00:00:00Z') / 1000;

  test('real Gramine extensions re-signed with another key: binding fails', { skip }, async () => {
    const ext = gramineExtensions();
    const { der } = await build({
      extensions: [
        { oid: OID_GRAMINE_QUOTE_MISENCODED, value: ext.get(OID_GRAMINE_QUOTE_MISENCODED) as Uint8Array },
        { oid: OID_DICE_TAGGED_EVIDENCE, value: ext.get(OID_DICE_TAGGED_EVIDENCE) as Uint8Array },
      ],
    });
    assert.equal(await codeOf(verifyCertificate(der, { at, quoteVerifier: fakeVerifier() })), 'ERR_BINDING_MISMATCH');
  });

  test('a bound certificate passes; a flipped signature byte fails; validity is checked', { skip }, async () => {
    const k = await keys();
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', k.publicKey));
    const ext = [{ oid: OID_GRAMINE_QUOTE, value: legacyQuoteFor(spki) }];
    const { der } = await build({ keys: k, extensions: ext });
    const v = await verifyCertificate(der, { at, quoteVerifier: fakeVerifier() });
    assert.deepEqual(v.binding.rules, ['spki-sha256']);
    const bad = der.slice();
    bad[bad.length - 5] = (bad[bad.length - 5] as number) ^ 0x01;
    assert.equal(await codeOf(verifyCertificate(bad, { at, quoteVerifier: fakeVerifier() })), 'ERR_CERT_SIGNATURE');
    const expired = await build({ keys: k, extensions: ext, notAfter: new Date('2024-12-31T00:00:00Z') });
    assert.equal(
      await codeOf(verifyCertificate(expired.der, { at, quoteVerifier: fakeVerifier() })),
      'ERR_CERT_EXPIRED',
    );
    const future = await build({ keys: k, extensions: ext, notBefore: new Date('2026-01-01T00:00:00Z') });
    assert.equal(
      await codeOf(verifyCertificate(future.der, { at, quoteVerifier: fakeVerifier() })),
      'ERR_CERT_NOT_YET_VALID',
    );
    assert.equal(await codeOf(verifyCertificate(der, { at })), 'ERR_COLLATERAL_REQUIRED');
    assert.equal(
      await codeOf(verifyCertificate(der, { at, quoteVerifier: fakeVerifier([], { forge: true }) })),
      'ERR_RESULT_NOT_VERIFIED',
    );
    assert.equal(
      await codeOf(verifyCertificate(der, { at, quoteVerifier: fakeVerifier([], { hashOf: Uint8Array.of(1) }) })),
      'ERR_RESULT_EVIDENCE_MISMATCH',
    );
    assert.equal(
      await codeOf(verifyCertificate(der, { at: Number.NaN, quoteVerifier: fakeVerifier() })),
      'ERR_TIME_INVALID',
    );
  });

  test('DICE claims whose hash differs from the quote report data', { skip }, async () => {
    const k = await keys();
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', k.publicKey));
    const quote = legacyQuoteFor(spki);
    const claims = encodeDiceClaims({ pubkeyHash: { alg: 1, hash: nodeSha256(spki) } });
    const { der } = await build({
      keys: k,
      extensions: [{ oid: OID_DICE_TAGGED_EVIDENCE, value: encodeDiceTaggedEvidence(60000, quote, claims) }],
    });
    assert.equal(await codeOf(verifyCertificate(der, { at, quoteVerifier: fakeVerifier() })), 'ERR_BINDING_MISMATCH');
  });

  test('garbage DICE next to a valid legacy quote: no fallback', { skip }, async () => {
    const k = await keys();
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', k.publicKey));
    const { der } = await build({
      keys: k,
      extensions: [
        { oid: OID_GRAMINE_QUOTE, value: legacyQuoteFor(spki) },
        { oid: OID_DICE_TAGGED_EVIDENCE, value: Uint8Array.of(0xff, 0x00, 0x13) },
      ],
    });
    assert.equal(
      await codeOf(verifyCertificate(der, { at, quoteVerifier: fakeVerifier() })),
      'ERR_EVIDENCE_EXTENSION_INVALID',
    );
  });

  test('no evidence; unknown critical extension; oversize and garbage input; two PEM blocks', async () => {
    const plain = await build({ dnsNames: ['svc.example.com'] });
    assert.equal(
      await codeOf(verifyCertificate(plain.der, { at, quoteVerifier: fakeVerifier() })),
      'ERR_CERT_NO_EVIDENCE',
    );
    const crit = await build({ extensions: [{ oid: '1.2.3.4', value: Uint8Array.of(5), critical: true }] });
    assert.equal(
      await codeOf(verifyCertificate(crit.der, { at, quoteVerifier: fakeVerifier() })),
      'ERR_CERT_CRITICAL_EXTENSION',
    );
    assert.equal(await codeOf(verifyCertificate(new Uint8Array(300 * 1024), { at })), 'ERR_CERT_TOO_LARGE');
    assert.equal(await codeOf(verifyCertificate('x'.repeat(800 * 1024), { at })), 'ERR_CERT_TOO_LARGE');
    assert.equal(await codeOf(verifyCertificate(Uint8Array.of(1, 2, 3), { at })), 'ERR_CERT_PARSE');
    const pem = new x509.X509Certificate(plain.der).toString('pem');
    assert.equal(await codeOf(verifyCertificate(pem.repeat(9), { at })), 'ERR_CERT_PARSE');
    assert.equal(await codeOf(verifyCertificate('no pem here', { at })), 'ERR_CERT_PARSE');
    assert.equal(await codeOf(verifyCertificate(pem, { at, quoteVerifier: fakeVerifier() })), 'ERR_CERT_NO_EVIDENCE');
    assert.equal(
      await codeOf(verifyCertificate(new TextEncoder().encode(pem), { at, quoteVerifier: fakeVerifier() })),
      'ERR_CERT_NO_EVIDENCE',
    );
  });

  test('issued by a configured CA: accepted; unknown CA or no CA configured: refused', { skip }, async () => {
    const caKeys = await keys();
    const ca = await build({ keys: caKeys, name: 'CN=ratls test CA', ca: true });
    const k = await keys();
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', k.publicKey));
    const leaf = await build({
      keys: k,
      issuer: { name: 'CN=ratls test CA', keys: caKeys },
      extensions: [{ oid: OID_GRAMINE_QUOTE, value: legacyQuoteFor(spki) }],
    });
    const v = await verifyCertificate(leaf.der, {
      at,
      quoteVerifier: fakeVerifier(),
      certificateAuthorities: [ca.der],
    });
    assert.deepEqual(v.binding.rules, ['spki-sha256']);
    assert.equal(
      await codeOf(verifyCertificate(leaf.der, { at, quoteVerifier: fakeVerifier() })),
      'ERR_CERT_NOT_SELF_SIGNED',
    );
    const other = await build({ name: 'CN=ratls test CA', ca: true });
    assert.equal(
      await codeOf(
        verifyCertificate(leaf.der, { at, quoteVerifier: fakeVerifier(), certificateAuthorities: [other.der] }),
      ),
      'ERR_CERT_UNTRUSTED_ISSUER',
    );
    const notCa = await build({ keys: caKeys, name: 'CN=ratls test CA' });
    assert.equal(
      await codeOf(
        verifyCertificate(leaf.der, { at, quoteVerifier: fakeVerifier(), certificateAuthorities: [notCa.der] }),
      ),
      'ERR_CERT_UNTRUSTED_ISSUER',
    );
  });

  test('property: arbitrary bytes and mutated certificates only raise RatlsError', { skip }, async () => {
    const der = pemToDer(readVectorText(`${CCC}gramine-cert.pem`));
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 400 }),
        fc.integer({ min: 0, max: der.length - 1 }),
        fc.integer({ min: 0, max: 255 }),
        async (junk, i, v) => {
          const m = der.slice();
          m[i] = v;
          for (const input of [junk, m]) {
            try {
              await verifyCertificate(input, { at, quoteVerifier: fakeVerifier() });
            } catch (e) {
              if (!(e instanceof RatlsError)) throw e;
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('verifyCertificate: Nitro (Evervault style)', () => {
  test('a document naming the certificate key, signed by a simulated Nitro root', async () => {
    const sim = await simNitroChain();
    const k = await keys();
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', k.publicKey));
    const docFor = async (userData: Uint8Array): Promise<Uint8Array> => {
      const payload = encode(
        new Map<string, unknown>([
          ['module_id', 'i-sim-enc0'],
          ['digest', 'SHA384'],
          ['timestamp', Date.parse('2024-01-01T02:00:00Z')],
          ['pcrs', new Map([[0, new Uint8Array(48).fill(7)]])],
          ['certificate', sim.leafDer],
          ['cabundle', [sim.rootDer, sim.interDer]],
          ['public_key', null],
          ['user_data', userData],
          ['nonce', null],
        ]),
      );
      const prot = encode(new Map([[1, -35]]));
      const sig = new Uint8Array(
        await webcrypto.subtle.sign(
          { name: 'ECDSA', hash: 'SHA-384' },
          sim.leafKey.privateKey,
          coseSign1ToBeSigned(prot, payload),
        ),
      );
      return encode([prot, new Map(), payload, sig]);
    };
    const at = Date.parse('2024-01-01T03:00:00Z') / 1000;
    const nitroTrustAnchors = [trustAnchorFrom(sim.rootDer)];
    const good = await build({ keys: k, dnsNames: [`${toHex(await docFor(spki))}.enclave.example`] });
    const v = await verifyCertificate(good.der, { at, nitroTrustAnchors });
    assert.equal(v.result.tee, 'nitro');
    assert.deepEqual(v.binding.rules, ['nitro-user-data']);
    assert.ok(isVerifiedResult(v.result));
    const wrong = await build({
      keys: k,
      dnsNames: [`${toHex(await docFor(Uint8Array.of(1, 2, 3)))}.enclave.example`],
    });
    assert.equal(await codeOf(verifyCertificate(wrong.der, { at, nitroTrustAnchors })), 'ERR_BINDING_MISMATCH');
    // Default anchors (the real AWS root) refuse the simulated chain.
    assert.notEqual(await codeOf(verifyCertificate(good.der, { at })), 'no error');
    // The one trust store carries the same roots, and wins over the older option name.
    const viaStore = await verifyCertificate(good.der, { at, trust: { aws: nitroTrustAnchors } });
    assert.equal(viaStore.result.tee, 'nitro');
    assert.equal(
      await codeOf(verifyCertificate(good.der, { at, nitroTrustAnchors, trust: { aws: [intelSgxRootCa()] } })),
      'ERR_NITRO_ROOT_UNTRUSTED',
    );
  });

  test('Evervault certificates are signed by a private CA that is not available: refused at the signature step', {
    skip,
  }, async () => {
    const pem = readVectorText(
      'nitro/evervault/test-data/beta/non-debug-cert-containing-attestation-document-18-1-23.pem',
    );
    assert.equal(await codeOf(verifyCertificate(pem, { at: 1674054914 })), 'ERR_CERT_NOT_SELF_SIGNED');
  });
});
