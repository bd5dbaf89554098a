import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import fc from 'fast-check';
import { bytesEqual, concatBytes, toHex } from '../bytes.js';
import { RatlsError } from '../errors.js';
import { sha256 } from '../hash.js';
import { checkBinding, expectedReportData } from './binding.js';
import { checkCertificateBinding } from './check-certificate.js';
import { encodeDiceClaims } from './dice-claims.js';
import { decodeDiceTaggedEvidence, encodeDiceTaggedEvidence } from './dice-tagged.js';
import { extractEvidence, parseRatlsCertificate } from './extract.js';
import { evidenceIdentity } from './identity.js';
import { OE_FORMAT_UUID_SGX_ECDSA } from './oe-header.js';
import {
  MAX_RATLS_CERT_BYTES,
  OID_DICE_ENDORSEMENTS,
  OID_DICE_TAGGED_EVIDENCE,
  OID_GRAMINE_QUOTE,
  OID_GRAMINE_QUOTE_MISENCODED,
  OID_INTEL_SGX_SDK_QUOTE,
  OID_OE_EVIDENCE,
  OID_OE_REPORT,
} from './oids.js';
import { spkiPemWithNul } from './pem.js';
import { spkiHash } from './spki-hash.js';
import { buildCert, extensionsOf, pemToDer, withReportData } from './test-certs.test-helper.js';

const CCC = 'ra-tls/ccc-interoperable-ra-tls/';
const skip = SKIP_NO_VECTORS;

function cccDer(name: string): Uint8Array {
  return pemToDer(readVectorText(CCC + name));
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof RatlsError, `not a RatlsError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

function pad(h: Uint8Array): Uint8Array {
  return concatBytes(h, new Uint8Array(32));
}

/** A real quote (Gramine legacy) re-pointed at `reportData`; binding checks do not verify signatures. */
function realQuote(): Uint8Array {
  const ext = extensionsOf(cccDer('gramine-cert.pem'));
  const q = ext.get(OID_GRAMINE_QUOTE_MISENCODED);
  assert.ok(q);
  return q;
}

describe('CCC interoperable RA-TLS certificates', () => {
  test('Gramine: DICE + mis-encoded legacy, both bind, one enclave', { skip }, () => {
    const parts = parseRatlsCertificate(cccDer('gramine-cert.pem'));
    assert.deepEqual(
      parts.evidence.map((e) => [e.format, e.tee, e.oid]),
      [
        ['gramine-legacy', 'sgx', '0.6.9.42.840.113741.1337.6'],
        ['tcg-dice', 'sgx', '2.23.133.5.4.9'],
      ],
    );
    const out = checkCertificateBinding(parts);
    assert.deepEqual(
      out.map((o) => o.rule),
      ['spki-sha256', 'dice-claims'],
    );
    assert.equal(toHex(sha256(parts.spkiDer)).slice(0, 8), '5a5a5b2d');
    for (const e of parts.evidence) {
      const id = evidenceIdentity(e);
      assert.equal(id.mrEnclave, '0866e7ca11b9f4efe4bf39b2607f4e1299f111920d96d95719080f01b62b7585');
      assert.equal(id.mrSigner, 'adc53501f21ced9b998e37a7a18e061c63e00315045fa57a49c18ef0a30d02ca');
    }
    assert.ok(
      !bytesEqual(parts.evidence[0]?.evidence ?? new Uint8Array(), parts.evidence[1]?.evidence ?? new Uint8Array()),
    );
  });

  test('rats-tls: DICE only, extra claims ignored', { skip }, () => {
    const ev = extractEvidence(cccDer('rats-tls-cert.pem'));
    assert.deepEqual(
      ev.map((e) => e.format),
      ['tcg-dice'],
    );
    const parts = parseRatlsCertificate(cccDer('rats-tls-cert.pem'));
    assert.equal(checkCertificateBinding(parts)[0]?.rule, 'dice-claims');
    const id = evidenceIdentity(ev[0] as (typeof ev)[0]);
    assert.equal(id.mrEnclave, '38e1b40b8c68186f359c97ecb6a89965d9d8638f2df06fbe18e84d79a266c041');
    assert.equal(id.mrSigner, '83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e');
  });

  test('Intel SGX SDK: DICE + 1.2.840.113741.1.13.1 with the same quote', { skip }, () => {
    const parts = parseRatlsCertificate(cccDer('intel-sgxsdk-cert.pem'));
    assert.deepEqual(
      parts.evidence.map((e) => [e.format, e.oid]),
      [
        ['intel-sgx-sdk', OID_INTEL_SGX_SDK_QUOTE],
        ['tcg-dice', OID_DICE_TAGGED_EVIDENCE],
      ],
    );
    assert.ok(bytesEqual(parts.evidence[0]?.evidence as Uint8Array, parts.evidence[1]?.evidence as Uint8Array));
    assert.deepEqual(
      checkCertificateBinding(parts).map((o) => o.rule),
      ['same-quote-as-dice', 'dice-claims'],
    );
    assert.equal(
      evidenceIdentity(parts.evidence[1] as (typeof parts.evidence)[0]).mrEnclave,
      '09e218a4be9dadbf7cdc82c45497d6d4f676d3b75445fc37a376f0b65b47de6a',
    );
    // Alone (no DICE quote to lean on) the SDK quote's report data is the claims hash, not the key hash.
    assert.throws(() => checkBinding(parts.evidence[0] as (typeof parts.evidence)[0], parts.spkiDer), {
      code: 'ERR_BINDING_MISMATCH',
    });
  });

  test('2018 sgx-ra-tls: legacy quote plus recognised collateral OIDs; zero report data binds nothing', {
    skip,
  }, () => {
    const parts = parseRatlsCertificate(readVector('ra-tls/legacy-sgx-ra-tls-preproduction/ecdsa-ratls.der'));
    assert.deepEqual(
      parts.evidence.map((e) => e.format),
      ['gramine-legacy'],
    );
    assert.deepEqual(
      parts.recognised.map((r) => r.oid),
      ['1.2.840.113741.1337.7', '1.2.840.113741.1337.8', '1.2.840.113741.1337.9', '1.2.840.113741.1337.10'],
    );
    assert.throws(() => checkCertificateBinding(parts), { code: 'ERR_BINDING_MISMATCH' });
  });
});

describe('Evervault Nitro certificates', () => {
  for (const f of [
    'debug-mode-cert-containing-attestation-doc-18-1-23.pem',
    'non-debug-cert-containing-attestation-document-18-1-23.pem',
  ]) {
    test(`${f}: document in the SAN, user_data = SPKI`, { skip }, () => {
      const parts = parseRatlsCertificate(pemToDer(readVectorText(`nitro/evervault/test-data/beta/${f}`)));
      assert.deepEqual(
        parts.evidence.map((e) => [e.format, e.tee]),
        [['nitro-san', 'nitro']],
      );
      assert.equal(checkCertificateBinding(parts)[0]?.rule, 'nitro-user-data');
      const pcr0 = evidenceIdentity(parts.evidence[0] as (typeof parts.evidence)[0]).pcr0;
      assert.equal(
        pcr0,
        f.startsWith('debug')
          ? '0'.repeat(96)
          : 'd265a83faa7b4fa0d73b82b6d06253e894445922937d0ee5a74fe4891da9817611a71e71b98e5329232902de3cf419af',
      );
    });
  }
  test('DER copy is the same certificate', { skip }, () => {
    const a = extractEvidence(
      readVector('nitro/evervault/test-data/beta/non-debug-cert-containing-attestation-document-18-1-23-der.crt'),
    );
    assert.equal(a[0]?.format, 'nitro-san');
  });
  test('GA certificate (document delivered separately) carries no evidence', { skip }, async () => {
    assert.equal(
      await codeOf(() => extractEvidence(readVector('nitro/evervault/test-data/valid-certificate.der'))),
      'ERR_CERT_NO_EVIDENCE',
    );
  });
});

describe('built certificates', () => {
  test('DICE written by our encoders binds, with nonce', { skip }, async () => {
    const quote = realQuote();
    const { keys, spki } = await buildCert({});
    const nonce = Uint8Array.of(9, 9, 9);
    const claims = encodeDiceClaims({ pubkeyHash: { alg: 7, hash: spkiHash(spki, 7) }, nonce });
    const q = withReportData(quote, expectedReportData('tcg-dice', spki, claims));
    const { der } = await buildCert({
      keys,
      extensions: [{ oid: OID_DICE_TAGGED_EVIDENCE, value: encodeDiceTaggedEvidence(60000, q, claims) }],
    });
    const parts = parseRatlsCertificate(der);
    const [o] = checkCertificateBinding(parts, { expectedNonce: nonce });
    assert.ok(o?.nonce && bytesEqual(o.nonce, nonce));
    assert.equal(
      await codeOf(() => checkCertificateBinding(parts, { expectedNonce: Uint8Array.of(1) })),
      'ERR_BINDING_NONCE_MISMATCH',
    );
  });

  test('expected nonce but none carried: ERR_BINDING_NONCE_MISSING', { skip }, () => {
    const parts = parseRatlsCertificate(cccDer('gramine-cert.pem'));
    assert.throws(() => checkCertificateBinding(parts, { expectedNonce: Uint8Array.of(1) }), {
      code: 'ERR_BINDING_NONCE_MISSING',
    });
  });

  test('negative: real extensions re-signed with another key', { skip }, async () => {
    const ext = extensionsOf(cccDer('gramine-cert.pem'));
    const { der } = await buildCert({
      extensions: [
        { oid: OID_GRAMINE_QUOTE_MISENCODED, value: ext.get(OID_GRAMINE_QUOTE_MISENCODED) as Uint8Array },
        { oid: OID_DICE_TAGGED_EVIDENCE, value: ext.get(OID_DICE_TAGGED_EVIDENCE) as Uint8Array },
      ],
    });
    assert.equal(await codeOf(() => checkCertificateBinding(parseRatlsCertificate(der))), 'ERR_BINDING_MISMATCH');
    // DICE alone: claims hash still matches the quote, but pubkey-hash names the Gramine key.
    const dice = await buildCert({
      extensions: [{ oid: OID_DICE_TAGGED_EVIDENCE, value: ext.get(OID_DICE_TAGGED_EVIDENCE) as Uint8Array }],
    });
    assert.throws(() => checkCertificateBinding(parseRatlsCertificate(dice.der)), {
      code: 'ERR_BINDING_MISMATCH',
      message: /pubkey-hash/,
    });
  });

  test('negative: quote from another certificate spliced in; claims that hash differently', { skip }, async () => {
    const gramine = decodeDiceTaggedEvidence(
      extensionsOf(cccDer('gramine-cert.pem')).get(OID_DICE_TAGGED_EVIDENCE) as Uint8Array,
    );
    const rats = decodeDiceTaggedEvidence(
      extensionsOf(cccDer('rats-tls-cert.pem')).get(OID_DICE_TAGGED_EVIDENCE) as Uint8Array,
    );
    const { keys, spki } = await buildCert({});
    const claims = encodeDiceClaims({ pubkeyHash: { alg: 1, hash: spkiHash(spki, 1) } });
    for (const quote of [rats.evidence, gramine.evidence]) {
      const { der } = await buildCert({
        keys,
        extensions: [{ oid: OID_DICE_TAGGED_EVIDENCE, value: encodeDiceTaggedEvidence(60000, quote, claims) }],
      });
      assert.throws(() => checkCertificateBinding(parseRatlsCertificate(der)), {
        code: 'ERR_BINDING_MISMATCH',
        message: /claims buffer/,
      });
    }
  });

  test('negative: garbage DICE extension fails even when a valid legacy extension is present', { skip }, async () => {
    const { keys, spki } = await buildCert({});
    const legacy = withReportData(realQuote(), pad(sha256(spki)));
    const good = await buildCert({ keys, extensions: [{ oid: OID_GRAMINE_QUOTE, value: legacy }] });
    assert.equal(checkCertificateBinding(parseRatlsCertificate(good.der))[0]?.rule, 'spki-sha256');
    const bad = await buildCert({
      keys,
      extensions: [
        { oid: OID_GRAMINE_QUOTE, value: legacy },
        { oid: OID_DICE_TAGGED_EVIDENCE, value: Uint8Array.of(0xd9, 0xea, 0x60, 0x82, 0x41) },
      ],
    });
    assert.equal(await codeOf(() => extractEvidence(bad.der)), 'ERR_EVIDENCE_EXTENSION_INVALID');
  });

  test('negative: two quotes of different enclaves disagree', { skip }, async () => {
    const { keys, spki } = await buildCert({});
    const other = decodeDiceTaggedEvidence(
      extensionsOf(cccDer('rats-tls-cert.pem')).get(OID_DICE_TAGGED_EVIDENCE) as Uint8Array,
    ).evidence;
    const claims = encodeDiceClaims({ pubkeyHash: { alg: 1, hash: spkiHash(spki, 1) } });
    const { der } = await buildCert({
      keys,
      extensions: [
        { oid: OID_GRAMINE_QUOTE, value: withReportData(realQuote(), pad(sha256(spki))) },
        {
          oid: OID_DICE_TAGGED_EVIDENCE,
          value: encodeDiceTaggedEvidence(60000, withReportData(other, pad(sha256(claims))), claims),
        },
      ],
    });
    assert.throws(() => checkCertificateBinding(parseRatlsCertificate(der)), {
      code: 'ERR_BINDING_FORMATS_DISAGREE',
      message: /mrEnclave/,
    });
  });

  test('negative: no evidence; oversize extension; oversize certificate; duplicate extension', { skip }, async () => {
    const none = await buildCert({ extensions: [{ oid: OID_DICE_ENDORSEMENTS, value: Uint8Array.of(1) }] });
    assert.equal(await codeOf(() => extractEvidence(none.der)), 'ERR_CERT_NO_EVIDENCE');
    assert.ok(parseRatlsCertificate(none.der).endorsements);
    const big = await buildCert({ extensions: [{ oid: OID_DICE_TAGGED_EVIDENCE, value: new Uint8Array(100 * 1024) }] });
    assert.equal(await codeOf(() => extractEvidence(big.der)), 'ERR_CERT_TOO_LARGE');
    assert.equal(await codeOf(() => extractEvidence(new Uint8Array(MAX_RATLS_CERT_BYTES + 1))), 'ERR_CERT_TOO_LARGE');
    assert.equal(await codeOf(() => extractEvidence(Uint8Array.of(0x30, 0x03, 1, 2, 3))), 'ERR_CERT_PARSE');
    assert.equal(await codeOf(() => extractEvidence(concatBytes(none.der, Uint8Array.of(0)))), 'ERR_CERT_PARSE');
    const dup = await buildCert({
      extensions: [
        { oid: OID_GRAMINE_QUOTE, value: realQuote() },
        { oid: OID_GRAMINE_QUOTE, value: realQuote() },
      ],
    });
    assert.equal(await codeOf(() => extractEvidence(dup.der)), 'ERR_EVIDENCE_EXTENSION_INVALID');
    const shortQuote = await buildCert({ extensions: [{ oid: OID_INTEL_SGX_SDK_QUOTE, value: new Uint8Array(10) }] });
    assert.equal(await codeOf(() => extractEvidence(shortQuote.der)), 'ERR_EVIDENCE_EXTENSION_INVALID');
  });

  test('Open Enclave 105.1: header + quote, SHA-256 of SPKI DER or of PEM+NUL', { skip }, async () => {
    const { keys, spki } = await buildCert({});
    const header = (q: Uint8Array, version = 1, type = 2): Uint8Array => {
      const h = new Uint8Array(16);
      const v = new DataView(h.buffer);
      v.setUint32(0, version, true);
      v.setUint32(4, type, true);
      v.setBigUint64(8, BigInt(q.length), true);
      return concatBytes(h, q);
    };
    for (const [rd, rule] of [
      [pad(sha256(spki)), 'spki-sha256'],
      [pad(sha256(spkiPemWithNul(spki))), 'spki-pem-sha256'],
    ] as const) {
      const { der } = await buildCert({
        keys,
        extensions: [{ oid: OID_OE_REPORT, value: header(withReportData(realQuote(), rd)) }],
      });
      const parts = parseRatlsCertificate(der);
      assert.equal(parts.evidence[0]?.format, 'open-enclave-report');
      assert.equal(checkCertificateBinding(parts)[0]?.rule, rule);
    }
    const wrongKey = await buildCert({
      extensions: [{ oid: OID_OE_REPORT, value: header(withReportData(realQuote(), pad(sha256(spki)))) }],
    });
    assert.equal(
      await codeOf(() => checkCertificateBinding(parseRatlsCertificate(wrongKey.der))),
      'ERR_BINDING_MISMATCH',
    );
    const q = realQuote();
    for (const bad of [header(q, 2), header(q, 1, 1), header(q).subarray(0, 100), new Uint8Array(8)]) {
      const c = await buildCert({ extensions: [{ oid: OID_OE_REPORT, value: bad }] });
      assert.equal(await codeOf(() => extractEvidence(c.der)), 'ERR_EVIDENCE_EXTENSION_INVALID');
    }
  });

  test('Open Enclave 105.2: attestation header + quote + custom claims (the PEM key)', { skip }, async () => {
    const { keys, spki } = await buildCert({});
    const custom = spkiPemWithNul(spki);
    const full = realQuote();
    // Drop the Gramine quote's trailing bytes: OE data is quote ‖ custom claims exactly.
    const sigLen = new DataView(full.buffer, full.byteOffset).getUint32(432, true);
    const quote = withReportData(full.subarray(0, 436 + sigLen), pad(sha256(custom)));
    const evidence = (claims: Uint8Array, uuid = OE_FORMAT_UUID_SGX_ECDSA): Uint8Array => {
      const h = new Uint8Array(32);
      const v = new DataView(h.buffer);
      v.setUint32(0, 3, true);
      h.set(uuid, 4);
      v.setBigUint64(24, BigInt(quote.length + claims.length), true);
      return concatBytes(h, quote, claims);
    };
    const { der } = await buildCert({ keys, extensions: [{ oid: OID_OE_EVIDENCE, value: evidence(custom) }] });
    const parts = parseRatlsCertificate(der);
    assert.equal(parts.evidence[0]?.format, 'open-enclave-evidence');
    assert.equal(checkCertificateBinding(parts)[0]?.rule, 'oe-custom-claims');
    const other = await buildCert({ extensions: [{ oid: OID_OE_EVIDENCE, value: evidence(custom) }] });
    assert.equal(await codeOf(() => checkCertificateBinding(parseRatlsCertificate(other.der))), 'ERR_BINDING_MISMATCH');
    const badUuid = await buildCert({
      extensions: [{ oid: OID_OE_EVIDENCE, value: evidence(custom, new Uint8Array(16)) }],
    });
    assert.equal(await codeOf(() => extractEvidence(badUuid.der)), 'ERR_EVIDENCE_EXTENSION_INVALID');
  });

  test('TDX v4 and v5 quotes under tags 60001 and 60000; 60001 around an SGX quote is refused', { skip }, async () => {
    const { keys, spki } = await buildCert({});
    const claims = encodeDiceClaims({ pubkeyHash: { alg: 8, hash: spkiHash(spki, 8) } });
    const rd = expectedReportData('tcg-dice', spki, claims);
    for (const [file, offset] of [
      ['dcap-cases/tdx__phala-dcap-qvl__tdx_quote.bin.quote.bin', 48 + 520],
      ['dcap-cases/tdx__automata__quotev5.dat.quote.bin', 48 + 6 + 520],
    ] as const) {
      const q = readVector(file).slice();
      q.set(rd, offset);
      for (const tag of [60000, 60001] as const) {
        const { der } = await buildCert({
          keys,
          extensions: [{ oid: OID_DICE_TAGGED_EVIDENCE, value: encodeDiceTaggedEvidence(tag, q, claims) }],
        });
        const parts = parseRatlsCertificate(der);
        assert.equal(parts.evidence[0]?.tee, 'tdx');
        assert.equal(checkCertificateBinding(parts)[0]?.rule, 'dice-claims');
        assert.equal(evidenceIdentity(parts.evidence[0] as (typeof parts.evidence)[0]).tee, 'tdx');
      }
    }
    const sgx = await buildCert({
      keys,
      extensions: [{ oid: OID_DICE_TAGGED_EVIDENCE, value: encodeDiceTaggedEvidence(60001, realQuote(), claims) }],
    });
    assert.equal(await codeOf(() => extractEvidence(sgx.der)), 'ERR_EVIDENCE_EXTENSION_INVALID');
  });

  test('Nitro SAN: oversize label refused; non-hex labels ignored', async () => {
    const big = await buildCert({ dnsNames: [`${'84'.repeat(20000)}.example.com`] });
    assert.equal(await codeOf(() => extractEvidence(big.der)), 'ERR_CERT_TOO_LARGE');
    const plain = await buildCert({ dnsNames: ['service.example.com'] });
    assert.equal(await codeOf(() => extractEvidence(plain.der)), 'ERR_CERT_NO_EVIDENCE');
  });
});

describe('property', () => {
  test('arbitrary bytes into extractEvidence only raise RatlsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (b) => {
        try {
          extractEvidence(b);
        } catch (e) {
          if (!(e instanceof RatlsError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });

  test('mutated real certificate bytes only raise RatlsError', { skip }, () => {
    const der = cccDer('gramine-cert.pem');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: der.length - 1 }), fc.integer({ min: 0, max: 255 }), (i, v) => {
        const m = der.slice();
        m[i] = v;
        try {
          const parts = parseRatlsCertificate(m);
          checkCertificateBinding(parts);
        } catch (e) {
          if (!(e instanceof RatlsError)) throw e;
        }
      }),
      { numRuns: 400 },
    );
  });
});
