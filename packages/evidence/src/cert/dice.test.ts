import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate } from '@peculiar/asn1-x509';
import { readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import fc from 'fast-check';
import { bytesEqual } from '../bytes.js';
import { RatlsError } from '../errors.js';
import { decodeDiceClaims, encodeDiceClaims } from './dice-claims.js';
import { decodeDiceTaggedEvidence, encodeDiceTaggedEvidence } from './dice-tagged.js';
import { OID_DICE_TAGGED_EVIDENCE } from './oids.js';
import { spkiHash } from './spki-hash.js';

const CCC = 'ra-tls/ccc-interoperable-ra-tls/';

function diceExt(pem: string): { value: Uint8Array; spki: Uint8Array } {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  const cert = AsnConvert.parse(Buffer.from(b64, 'base64'), Certificate);
  const ext = cert.tbsCertificate.extensions?.find((e) => e.extnID === OID_DICE_TAGGED_EVIDENCE);
  assert.ok(ext);
  return {
    value: new Uint8Array(ext.extnValue.buffer),
    spki: new Uint8Array(AsnConvert.serialize(cert.tbsCertificate.subjectPublicKeyInfo)),
  };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RatlsError, `not a RatlsError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

describe('DICE tagged evidence', () => {
  for (const name of ['gramine-cert.pem', 'rats-tls-cert.pem', 'intel-sgxsdk-cert.pem']) {
    test(`${name}: decodes, claims bind the SPKI, re-encodes byte-exactly`, { skip: SKIP_NO_VECTORS }, () => {
      const { value, spki } = diceExt(readVectorText(CCC + name));
      const d = decodeDiceTaggedEvidence(value);
      assert.equal(d.tag, 60000);
      const claims = decodeDiceClaims(d.claims);
      assert.equal(claims.pubkeyHash.alg, 1);
      assert.ok(bytesEqual(claims.pubkeyHash.hash, spkiHash(spki, 1)));
      assert.deepEqual(claims.otherClaims, name.startsWith('rats') ? ['key_0', 'key_1'] : []);
      assert.ok(bytesEqual(encodeDiceTaggedEvidence(60000, d.evidence, d.claims), value));
      if (!name.startsWith('rats'))
        assert.ok(bytesEqual(encodeDiceClaims({ pubkeyHash: claims.pubkeyHash }), d.claims));
    });
  }

  test('claims round-trip with nonce and every algorithm', () => {
    for (const [alg, len] of [
      [1, 32],
      [7, 48],
      [8, 64],
    ] as const) {
      const hash = new Uint8Array(len).fill(7);
      const nonce = Uint8Array.of(1, 2, 3);
      const c = decodeDiceClaims(encodeDiceClaims({ pubkeyHash: { alg, hash }, nonce }));
      assert.equal(c.pubkeyHash.alg, alg);
      assert.ok(bytesEqual(c.pubkeyHash.hash, hash));
      assert.ok(c.nonce && bytesEqual(c.nonce, nonce));
    }
  });

  test('negative: encoder refuses wrong hash length and algorithm', () => {
    assert.equal(
      codeOf(() => encodeDiceClaims({ pubkeyHash: { alg: 1, hash: new Uint8Array(31) } })),
      'ERR_DICE_CLAIMS_INVALID',
    );
    assert.equal(
      codeOf(() => encodeDiceClaims({ pubkeyHash: { alg: 2 as 1, hash: new Uint8Array(32) } })),
      'ERR_DICE_HASH_ALG_UNSUPPORTED',
    );
    assert.equal(
      codeOf(() => encodeDiceTaggedEvidence(60002 as 60000, new Uint8Array(1), new Uint8Array(1))),
      'ERR_EVIDENCE_EXTENSION_INVALID',
    );
  });

  test('negative: malformed tagged evidence', () => {
    const good = encodeDiceTaggedEvidence(60000, Uint8Array.of(1, 2, 3), Uint8Array.of(0xa0));
    assert.equal(
      codeOf(() => decodeDiceTaggedEvidence(good.subarray(0, good.length - 1))),
      'ERR_EVIDENCE_EXTENSION_INVALID',
    );
    assert.equal(
      codeOf(() => decodeDiceTaggedEvidence(Uint8Array.of(...good, 0))),
      'ERR_EVIDENCE_EXTENSION_INVALID',
    );
    const otherTag = good.slice();
    otherTag[2] = 0x62; // tag 60002
    assert.equal(
      codeOf(() => decodeDiceTaggedEvidence(otherTag)),
      'ERR_EVIDENCE_EXTENSION_INVALID',
    );
    assert.equal(
      codeOf(() => decodeDiceTaggedEvidence(Uint8Array.of(0xd9, 0xea, 0x60, 0x9f, 0xff))),
      'ERR_EVIDENCE_EXTENSION_INVALID',
    );
    assert.equal(
      codeOf(() => decodeDiceTaggedEvidence(new Uint8Array(80 * 1024))),
      'ERR_CERT_TOO_LARGE',
    );
    assert.equal(
      codeOf(() => decodeDiceTaggedEvidence(encodeDiceTaggedEvidence(60000, new Uint8Array(0), Uint8Array.of(0xa0)))),
      'ERR_EVIDENCE_EXTENSION_INVALID',
    );
  });

  test('negative: malformed claims', () => {
    const hash = new Uint8Array(32);
    const good = encodeDiceClaims({ pubkeyHash: { alg: 1, hash } });
    assert.equal(
      codeOf(() => decodeDiceClaims(Uint8Array.of(0xa0))),
      'ERR_DICE_CLAIMS_INVALID',
    ); // no pubkey-hash
    assert.equal(
      codeOf(() => decodeDiceClaims(Uint8Array.of(...good, 0))),
      'ERR_DICE_CLAIMS_INVALID',
    );
    assert.equal(
      codeOf(() => decodeDiceClaims(good.subarray(0, 20))),
      'ERR_DICE_CLAIMS_INVALID',
    );
    const dup = Uint8Array.of(0xa2, ...good.subarray(1), ...good.subarray(1));
    assert.equal(
      codeOf(() => decodeDiceClaims(dup)),
      'ERR_DICE_CLAIMS_INVALID',
    );
    const badAlg = good.slice();
    badAlg[16] = 0x02; // alg byte: after map(1), tstr(12), bstr head(2), array head(1)
    assert.equal(
      codeOf(() => decodeDiceClaims(badAlg)),
      'ERR_DICE_HASH_ALG_UNSUPPORTED',
    );
    assert.equal(
      codeOf(() => decodeDiceClaims(new Uint8Array(5000))),
      'ERR_DICE_CLAIMS_INVALID',
    );
  });

  test('property: arbitrary bytes only ever raise RatlsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const fn of [() => decodeDiceTaggedEvidence(b), () => decodeDiceClaims(b)]) {
          try {
            fn();
          } catch (e) {
            if (!(e instanceof RatlsError)) throw e;
          }
        }
      }),
      { numRuns: 3000 },
    );
    const prefix = Uint8Array.of(0xd9, 0xea, 0x60, 0x82);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        try {
          decodeDiceTaggedEvidence(Uint8Array.of(...prefix, ...b));
        } catch (e) {
          if (!(e instanceof RatlsError)) throw e;
        }
      }),
      { numRuns: 2000 },
    );
  });
});
