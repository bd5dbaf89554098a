import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

import { describe, test } from 'node:test';
import { AppraisalError, CertificateError, CollateralError, type RatlsError } from '@ratls/evidence';
import { x509 } from '@ratls/test-support/x509';
import fc from 'fast-check';
import { checkPckRevocation } from '../dcap/revocation.js';
import { intelSgxRootCa, trustAnchorFrom } from '../trust.js';
import { KU_CRL_SIGN, KU_KEY_CERT_SIGN, nameAttributes, parseCertificate, pemToDers } from './certificate.js';
import { anchorOf, verifyChain } from './chain.js';
import { checkCrl, isRevoked, parseCrl } from './crl.js';
import { certificateKey } from './keys.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const T0 = new Date('2030-01-01T00:00:00Z');
const T1 = new Date('2031-01-01T00:00:00Z');
const AT = Date.parse('2030-06-01T00:00:00Z') / 1000;

async function keys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}
const ca = (critical = true) => [new x509.BasicConstraintsExtension(true, undefined, critical)];

async function hierarchy() {
  const rootKeys = await keys();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    name: 'CN=Test Root CA',
    keys: rootKeys,
    serialNumber: '01',
    notBefore: T0,
    notAfter: T1,
    signingAlgorithm: ALG,
    extensions: ca(),
  });
  const caKeys = await keys();
  const inter = await x509.X509CertificateGenerator.create({
    subject: 'CN=Test SGX PCK Platform CA',
    issuer: root.subject,
    publicKey: caKeys.publicKey,
    signingKey: rootKeys.privateKey,
    serialNumber: '0a0b',
    notBefore: T0,
    notAfter: T1,
    signingAlgorithm: ALG,
    extensions: ca(),
  });
  const leafKeys = await keys();
  const leaf = await x509.X509CertificateGenerator.create({
    subject: 'CN=Test SGX PCK Certificate',
    issuer: inter.subject,
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    serialNumber: '00c0ffee',
    notBefore: T0,
    notAfter: T1,
    signingAlgorithm: ALG,
  });
  const crl = async (issuer: x509.X509Certificate, key: CryptoKey, serials: string[], nextUpdate = T1) =>
    new Uint8Array(
      (
        await x509.X509CrlGenerator.create({
          issuer: issuer.subject,
          thisUpdate: T0,
          nextUpdate,
          signingAlgorithm: ALG,
          signingKey: key,
          entries: serials.map((serialNumber) => ({ serialNumber, revocationDate: T0 })),
        })
      ).rawData,
    );
  const der = (c: x509.X509Certificate) => new Uint8Array(c.rawData);
  return { root, inter, leaf, rootKeys, caKeys, crl, der, anchor: trustAnchorFrom(der(root)) };
}

describe('pki: certificates', () => {
  test('parses the Intel SGX Root CA', () => {
    const c = parseCertificate(intelSgxRootCa().der);
    assert.equal(c.subjectCn, 'Intel SGX Root CA');
    assert.equal(c.notBefore, Date.parse('2018-05-21T10:45:10Z') / 1000);
    assert.equal(c.notAfter, Date.parse('2049-12-31T23:59:59Z') / 1000);
    assert.equal(c.isCa, true);
    assert.equal(c.keyUsage, (1 << KU_KEY_CERT_SIGN) | (1 << KU_CRL_SIGN));
    assert.deepEqual(c.basicConstraints, { ca: true, pathLen: 1 });
  });

  test('nameAttributes decodes the subject RDNs in order; a malformed name is ERR_CERT_MALFORMED', () => {
    const c = parseCertificate(intelSgxRootCa().der);
    assert.deepEqual(
      nameAttributes(c.subjectRaw).map((rdn) => rdn.map((a) => `${a.oid}=${a.value}`)),
      [
        ['2.5.4.3=Intel SGX Root CA'],
        ['2.5.4.10=Intel Corporation'],
        ['2.5.4.7=Santa Clara'],
        ['2.5.4.8=CA'],
        ['2.5.4.6=US'],
      ],
    );
    // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, INTEGER 1 } } }: a name value that is not a string.
    const intValue = Uint8Array.from([
      0x30, 0x0a, 0x31, 0x08, 0x30, 0x06, 0x06, 0x03, 0x55, 0x04, 0x03, 0x02, 0x01, 0x01,
    ]);
    assert.throws(() => nameAttributes(intValue), { code: 'ERR_CERT_MALFORMED' });
    assert.throws(() => nameAttributes(Uint8Array.from([0x30, 0x02, 0x31, 0x00])), { code: 'ERR_CERT_MALFORMED' });
  });

  test('basicConstraints: undefined when absent (leaf), { ca: true } on a CA without pathLen', async () => {
    const h = await hierarchy();
    assert.equal(parseCertificate(h.der(h.leaf)).basicConstraints, undefined);
    assert.deepEqual(parseCertificate(h.der(h.inter)).basicConstraints, { ca: true });
  });

  test('arbitrary bytes only ever raise CertificateError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const f of [parseCertificate, parseCrl]) {
          try {
            f(b);
          } catch (e) {
            assert.ok(e instanceof CertificateError, String(e));
          }
        }
      }),
      { numRuns: 300 },
    );
    const root = intelSgxRootCa().der;
    fc.assert(
      fc.property(fc.nat(root.length - 1), fc.integer({ min: 1, max: 255 }), fc.nat(root.length), (i, x, cut) => {
        const m = root.slice(0, Math.max(cut, i + 1));
        m[i] = (m[i] as number) ^ x;
        try {
          parseCertificate(m);
        } catch (e) {
          assert.ok(e instanceof CertificateError, String(e));
        }
      }),
      { numRuns: 500 },
    );
  });

  test('refuses PEM text without any certificate', () => {
    assert.throws(() => pemToDers('nothing here'), { code: 'ERR_CERT_MALFORMED' });
  });
});

describe('pki: chains', async () => {
  const h = await hierarchy();
  const o = { at: AT, step: 's', Err: AppraisalError, what: 'test chain' };

  test('verifies leaf ← intermediate ← anchor, with or without the root in the chain', () => {
    const full = verifyChain([h.der(h.leaf), h.der(h.inter), h.der(h.root)], { ...o, anchors: [h.anchor] });
    assert.equal(full.anchor, h.anchor);
    assert.equal(full.certs.length, 3);
    assert.equal(full.notBefore, T0.getTime() / 1000);
    const short = verifyChain([h.der(h.leaf), h.der(h.inter)], { ...o, anchors: [h.anchor] });
    assert.equal(short.certs.length, 3);
  });

  test('untrusted root: ERR_UNTRUSTED_ROOT', () => {
    assert.throws(
      () => verifyChain([h.der(h.leaf), h.der(h.inter), h.der(h.root)], { ...o, anchors: [intelSgxRootCa()] }),
      {
        code: 'ERR_UNTRUSTED_ROOT',
        step: 's',
      },
    );
  });

  test('outside validity: ERR_CERT_EXPIRED', () => {
    const ders = [h.der(h.leaf), h.der(h.inter), h.der(h.root)];
    assert.throws(() => verifyChain(ders, { ...o, anchors: [h.anchor], at: T1.getTime() / 1000 + 1 }), {
      code: 'ERR_CERT_EXPIRED',
    });
    assert.throws(() => verifyChain(ders, { ...o, anchors: [h.anchor], at: T0.getTime() / 1000 - 1 }), {
      code: 'ERR_CERT_EXPIRED',
    });
  });

  test('bad signature: ERR_CERT_SIGNATURE', () => {
    const leaf = h.der(h.leaf).slice();
    leaf[leaf.length - 3] = (leaf[leaf.length - 3] as number) ^ 1; // inside the ECDSA s value
    assert.throws(() => verifyChain([leaf, h.der(h.inter), h.der(h.root)], { ...o, anchors: [h.anchor] }), {
      code: 'ERR_CERT_SIGNATURE',
    });
  });

  test('issuer name mismatch: ERR_CHAIN_ISSUER_MISMATCH', () => {
    assert.throws(() => verifyChain([h.der(h.leaf), h.der(h.root)], { ...o, anchors: [h.anchor] }), {
      code: 'ERR_CHAIN_ISSUER_MISMATCH',
    });
  });

  test('issuer that is not a CA: ERR_CHAIN_NOT_CA', async () => {
    const k = await keys();
    const notCa = await x509.X509CertificateGenerator.create({
      subject: 'CN=Not A CA',
      issuer: h.root.subject,
      publicKey: k.publicKey,
      signingKey: h.rootKeys.privateKey,
      notBefore: T0,
      notAfter: T1,
      signingAlgorithm: ALG,
    });
    const below = await x509.X509CertificateGenerator.create({
      subject: 'CN=Below',
      issuer: notCa.subject,
      publicKey: k.publicKey,
      signingKey: k.privateKey,
      notBefore: T0,
      notAfter: T1,
      signingAlgorithm: ALG,
    });
    assert.throws(() => verifyChain([h.der(below), h.der(notCa), h.der(h.root)], { ...o, anchors: [h.anchor] }), {
      code: 'ERR_CHAIN_NOT_CA',
    });
  });
});

describe('pki: extensions that constrain a chain', async () => {
  const h = await hierarchy();
  const o = { at: AT, step: 's', Err: AppraisalError, what: 'test chain' };
  const issue = async (subject: string, extensions: x509.Extension[], k: CryptoKeyPair) =>
    x509.X509CertificateGenerator.create({
      subject,
      issuer: h.root.subject,
      publicKey: k.publicKey,
      signingKey: h.rootKeys.privateKey,
      notBefore: T0,
      notAfter: T1,
      signingAlgorithm: ALG,
      extensions,
    });

  test('an unrecognised critical extension: ERR_CERT_CRITICAL_EXTENSION', async () => {
    const k = await keys();
    const odd = await issue('CN=Odd', [new x509.Extension('1.2.3.4.5', true, new Uint8Array([5, 0]))], k);
    assert.throws(() => verifyChain([h.der(odd), h.der(h.root)], { ...o, anchors: [h.anchor] }), {
      code: 'ERR_CERT_CRITICAL_EXTENSION',
    });
    const fine = await issue('CN=Fine', [new x509.Extension('1.2.3.4.5', false, new Uint8Array([5, 0]))], k);
    verifyChain([h.der(fine), h.der(h.root)], { ...o, anchors: [h.anchor] });
  });

  test('a CA without keyCertSign cannot issue (ERR_CHAIN_NOT_CA) and without cRLSign cannot sign CRLs', async () => {
    const k = await keys();
    const weak = await issue(
      'CN=Weak CA',
      [...ca(), new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true)],
      k,
    );
    const below = await x509.X509CertificateGenerator.create({
      subject: 'CN=Below',
      issuer: weak.subject,
      publicKey: k.publicKey,
      signingKey: k.privateKey,
      notBefore: T0,
      notAfter: T1,
      signingAlgorithm: ALG,
    });
    assert.throws(() => verifyChain([h.der(below), h.der(weak), h.der(h.root)], { ...o, anchors: [h.anchor] }), {
      code: 'ERR_CHAIN_NOT_CA',
    });
    const weakCert = parseCertificate(h.der(weak));
    const crl = parseCrl(await h.crl(weak, k.privateKey, []));
    assert.throws(() => checkCrl(crl, weakCert, certificateKey(weakCert), AT, { ...o, Err: CollateralError }), {
      code: 'ERR_CRL_ISSUER_MISMATCH',
    });
  });
});

describe('pki: CRLs and PCK revocation', async () => {
  const h = await hierarchy();
  const o = { Err: CollateralError, step: 'crl', what: 'test CRL' };
  const inter = parseCertificate(h.der(h.inter));
  const leaf = parseCertificate(h.der(h.leaf));
  const interKey = certificateKey(inter);
  const root = anchorOf(h.anchor);

  test('a CRL listing the leaf: isRevoked and ERR_PCK_REVOKED', async () => {
    const pckCrl = parseCrl(await h.crl(h.inter, h.caKeys.privateKey, ['01', '00c0ffee', '7777']));
    const rootCrl = parseCrl(await h.crl(h.root, h.rootKeys.privateKey, []));
    checkCrl(pckCrl, inter, interKey, AT, o);
    checkCrl(rootCrl, root.cert, root.key, AT, o);
    assert.equal(isRevoked(pckCrl, leaf.serial), true);
    assert.equal(isRevoked(pckCrl, new Uint8Array([0xc0, 0xff, 0xee])), true, 'leading zero is not significant');
    assert.equal(isRevoked(rootCrl, inter.serial), false);
    assert.throws(
      () => checkPckRevocation(leaf, inter, rootCrl, pckCrl, inter),
      (e: unknown) => {
        assert.ok(e instanceof AppraisalError);
        assert.equal((e as RatlsError).code, 'ERR_PCK_REVOKED');
        return true;
      },
    );
  });

  test('a Root CA CRL listing the PCK CA: ERR_PCK_CA_REVOKED', async () => {
    const pckCrl = parseCrl(await h.crl(h.inter, h.caKeys.privateKey, []));
    const rootCrl = parseCrl(await h.crl(h.root, h.rootKeys.privateKey, ['0a0b']));
    checkPckRevocation(leaf, inter, parseCrl(await h.crl(h.root, h.rootKeys.privateKey, [])), pckCrl, inter);
    assert.throws(() => checkPckRevocation(leaf, inter, rootCrl, pckCrl, inter), { code: 'ERR_PCK_CA_REVOKED' });
  });

  test('a PCK CRL from another CA: ERR_CRL_ISSUER_MISMATCH', async () => {
    const rootCrl = parseCrl(await h.crl(h.root, h.rootKeys.privateKey, []));
    assert.throws(() => checkPckRevocation(leaf, inter, rootCrl, rootCrl, root.cert), {
      code: 'ERR_CRL_ISSUER_MISMATCH',
    });
    assert.throws(() => checkCrl(rootCrl, inter, interKey, AT, o), { code: 'ERR_CRL_ISSUER_MISMATCH' });
  });

  test('an expired CRL: ERR_COLLATERAL_EXPIRED', async () => {
    const crl = parseCrl(await h.crl(h.inter, h.caKeys.privateKey, [], new Date('2030-02-01T00:00:00Z')));
    checkCrl(crl, inter, interKey, Date.parse('2030-01-15T00:00:00Z') / 1000, o);
    assert.throws(() => checkCrl(crl, inter, interKey, AT, o), { code: 'ERR_COLLATERAL_EXPIRED', step: 'crl' });
    assert.throws(() => checkCrl(crl, inter, interKey, T0.getTime() / 1000 - 1, o), { code: 'ERR_COLLATERAL_EXPIRED' });
  });

  test('a CRL signed by the wrong key: ERR_CRL_SIGNATURE', async () => {
    const other = await keys();
    const crl = parseCrl(await h.crl(h.inter, other.privateKey, []));
    assert.throws(() => checkCrl(crl, inter, interKey, AT, o), { code: 'ERR_CRL_SIGNATURE' });
  });
});
