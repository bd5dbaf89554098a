import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { bytesEqual } from '../bytes.js';
import { RatlsError } from '../errors.js';
import { type DiceEndorsements, decodeDiceEndorsements, encodeDiceEndorsements } from './dice-endorsements.js';

const te = (s: string) => new TextEncoder().encode(s);
const sample: DiceEndorsements = {
  tag: 60000,
  version: 1,
  tcbInfo: te('{"tcbInfo":{},"signature":"00"}'),
  tcbInfoIssuerChain: te('-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n'),
  pckCrl: Uint8Array.of(0x30, 1, 2),
  rootCaCrl: Uint8Array.of(0x30, 3, 4),
  pckCrlIssuerChain: te('chain'),
  qeIdentity: te('{"enclaveIdentity":{},"signature":"00"}'),
  qeIdentityIssuerChain: te('chain2'),
};

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RatlsError, String(e));
    return e.code;
  }
  return 'no error';
}

describe('DICE endorsements', () => {
  test('round trip, with and without creation time; NUL terminators removed', () => {
    for (const e of [sample, { ...sample, tag: 60001 as const, creationDatetime: te('2025-08-20T00:00:00Z') }]) {
      const bytes = encodeDiceEndorsements(e);
      const d = decodeDiceEndorsements(bytes);
      assert.equal(d.tag, e.tag);
      assert.equal(d.version, 1);
      assert.ok(bytesEqual(d.tcbInfo, e.tcbInfo));
      assert.ok(bytesEqual(d.rootCaCrl, e.rootCaCrl));
      assert.equal(
        d.creationDatetime ? new TextDecoder().decode(d.creationDatetime) : undefined,
        e.creationDatetime ? '2025-08-20T00:00:00Z' : undefined,
      );
    }
  });

  test('negative: wrong tag, wrong count, trailing bytes, empty field, truncation', () => {
    const good = encodeDiceEndorsements(sample);
    const wrongTag = good.slice();
    wrongTag[2] = 0x62;
    assert.equal(
      codeOf(() => decodeDiceEndorsements(wrongTag)),
      'ERR_DICE_ENDORSEMENTS_INVALID',
    );
    const wrongCount = good.slice();
    wrongCount[3] = 0x87;
    assert.equal(
      codeOf(() => decodeDiceEndorsements(wrongCount)),
      'ERR_DICE_ENDORSEMENTS_INVALID',
    );
    assert.equal(
      codeOf(() => decodeDiceEndorsements(Uint8Array.of(...good, 0))),
      'ERR_DICE_ENDORSEMENTS_INVALID',
    );
    assert.equal(
      codeOf(() => decodeDiceEndorsements(good.subarray(0, good.length - 3))),
      'ERR_DICE_ENDORSEMENTS_INVALID',
    );
    const empty = encodeDiceEndorsements({ ...sample, pckCrl: new Uint8Array(0) });
    assert.equal(
      codeOf(() => decodeDiceEndorsements(empty)),
      'ERR_DICE_ENDORSEMENTS_INVALID',
    );
  });

  test('property: arbitrary bytes only raise RatlsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const input of [b, Uint8Array.of(0xd9, 0xea, 0x60, 0x88, ...b)]) {
          try {
            decodeDiceEndorsements(input);
          } catch (e) {
            if (!(e instanceof RatlsError)) throw e;
          }
        }
      }),
      { numRuns: 2000 },
    );
  });
});
