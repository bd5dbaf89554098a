import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { derNameAttributes, derWrite } from '@ratls/evidence';
import fc from 'fast-check';
import { OID_C, OID_CN, OID_O } from '../pki/certificate.js';
import { simpleRdns, soleAttributeIs, subjectIsExactly } from './role-names.js';
import { dnEquals } from './roles.js';

const enc = (s: string) => new TextEncoder().encode(s);
const oid = (...b: number[]) => derWrite(0x06, new Uint8Array(b));
const CN = oid(0x55, 0x04, 0x03);
const O = oid(0x55, 0x04, 0x0a);
const C = oid(0x55, 0x04, 0x06);
const atv = (o: Uint8Array, v: string, tag = 0x0c) => derWrite(0x30, o, derWrite(tag, enc(v)));
const rdn = (...atvs: Uint8Array[]) => derWrite(0x31, ...atvs);
const name = (...rdns: Uint8Array[]) => derWrite(0x30, ...rdns);
const WANT = [
  [OID_CN, 'Intel SGX TCB Signing'],
  [OID_O, 'Intel Corporation'],
  [OID_C, 'US'],
] as const;
const exact = () => name(rdn(atv(CN, WANT[0][1])), rdn(atv(O, WANT[1][1], 0x13)), rdn(atv(C, WANT[2][1], 0x13)));

describe('role name fast path (only ever says "matches"; the reference decode decides the rest)', () => {
  test('an exact name matches, as the reference decode says', () => {
    assert.equal(subjectIsExactly(exact(), WANT), true);
    assert.equal(dnEquals(derNameAttributes(exact()), WANT), true);
    assert.equal(soleAttributeIs(exact(), OID_CN, ['x', 'Intel SGX TCB Signing']), true);
  });

  test('every name it declines goes to the reference decode (which then errs or refuses as before)', () => {
    const declined: [string, Uint8Array][] = [
      ['another CN', name(rdn(atv(CN, 'Intel SGX TCB Signer')), rdn(atv(O, WANT[1][1])), rdn(atv(C, 'US')))],
      ['attributes reordered', name(rdn(atv(O, WANT[1][1])), rdn(atv(CN, WANT[0][1])), rdn(atv(C, 'US')))],
      ['an extra RDN', name(rdn(atv(CN, WANT[0][1])), rdn(atv(O, WANT[1][1])), rdn(atv(C, 'US')), rdn(atv(C, 'US')))],
      ['a multi-valued RDN', name(rdn(atv(CN, WANT[0][1]), atv(O, WANT[1][1])), rdn(atv(C, 'US')))],
      ['an empty RDN', name(rdn(atv(CN, WANT[0][1])), rdn(), rdn(atv(C, 'US')))],
      [
        'a non-string value (OCTET STRING)',
        name(rdn(atv(CN, WANT[0][1], 0x04)), rdn(atv(O, WANT[1][1])), rdn(atv(C, 'US'))),
      ],
      [
        'a non-ASCII look-alike',
        name(rdn(atv(CN, 'Intel SGX TCB Signіng')), rdn(atv(O, WANT[1][1])), rdn(atv(C, 'US'))),
      ],
      ['trailing bytes', new Uint8Array([...exact(), 0])],
      ['a truncated name', exact().subarray(0, 20)],
    ];
    for (const [label, raw] of declined) {
      assert.equal(subjectIsExactly(raw, WANT), false, label);
      let reference: boolean;
      try {
        reference = dnEquals(derNameAttributes(raw), WANT);
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'ERR_DER_MALFORMED', label);
        reference = false;
      }
      assert.equal(reference, false, label);
    }
    // A CN twice, or a CN only inside a multi-valued RDN: declined (the reference's onlyCn decides).
    assert.equal(soleAttributeIs(name(rdn(atv(CN, 'a')), rdn(atv(CN, 'a'))), OID_CN, ['a']), false);
    assert.equal(soleAttributeIs(name(rdn(atv(CN, 'a'), atv(O, 'b'))), OID_CN, ['a']), false);
    assert.equal(simpleRdns(name(rdn(atv(CN, 'a'), atv(O, 'b')))), undefined);
  });

  test('property: the fast path never matches a name the reference decode refuses or finds different', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), fc.integer({ min: 0, max: 200 }), (noise, at) => {
        const raw = exact().slice();
        if (noise.length > 0) raw.set(noise.subarray(0, Math.max(0, raw.length - (at % raw.length))), at % raw.length);
        if (!subjectIsExactly(raw, WANT)) return;
        assert.equal(dnEquals(derNameAttributes(raw), WANT), true);
      }),
      { numRuns: 500 },
    );
  });
});
