import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RatlsError } from '../errors.js';
import { derNameText } from './name.js';

// Minimal DER writers for short (< 128 byte) values: enough to state the names under test.
const tlv = (tag: number, body: number[]): number[] => [tag, body.length, ...body];
const OIDS: Record<string, number[]> = {
  CN: [0x55, 0x04, 0x03],
  O: [0x55, 0x04, 0x0a],
  C: [0x55, 0x04, 0x06],
  OU: [0x55, 0x04, 0x0b],
  private: [0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x01], // 1.3.6.1.4.1.311.1
};
const atv = (oid: number[], value: string, tag = 0x0c): number[] =>
  tlv(0x30, [...tlv(0x06, oid), ...tlv(tag, [...Buffer.from(value, 'utf8')])]);
const name = (...rdns: number[][][]): Uint8Array =>
  new Uint8Array(
    tlv(
      0x30,
      rdns.flatMap((atvs) => tlv(0x31, atvs.flat())),
    ),
  );

describe('derNameText', () => {
  test('RDNs in encoded order with short names', () => {
    const n = name(
      [atv(OIDS.CN as number[], 'RATLS')],
      [atv(OIDS.O as number[], 'GramineDevelopers')],
      [atv(OIDS.C as number[], 'US', 0x13)],
    );
    assert.equal(derNameText(n), 'CN=RATLS, O=GramineDevelopers, C=US');
  });

  test('a multi-valued RDN joins with +, an unknown type prints as its OID', () => {
    const n = name(
      [atv(OIDS.CN as number[], 'a'), atv(OIDS.OU as number[], 'b')],
      [atv(OIDS.private as number[], 'x')],
    );
    assert.equal(derNameText(n), 'CN=a+OU=b, 1.3.6.1.4.1.311.1=x');
  });

  test('RFC 4514 specials and control characters are escaped, so a name cannot forge fields', () => {
    const n = name([atv(OIDS.CN as number[], '#a,b+c"d\\e<f>g;h\ni ')]);
    assert.equal(derNameText(n), 'CN=\\#a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\0Ai\\ ');
  });

  test('a value that is not a directory string is ERR_DER_MALFORMED', () => {
    const n = name([atv(OIDS.CN as number[], 'x', 0x04)]);
    assert.throws(
      () => derNameText(n),
      (e: unknown) => e instanceof RatlsError && e.code === 'ERR_DER_MALFORMED',
    );
  });

  test('trailing bytes after the Name are ERR_DER_MALFORMED', () => {
    const n = name([atv(OIDS.CN as number[], 'x')]);
    assert.throws(
      () => derNameText(new Uint8Array([...n, 0])),
      (e: unknown) => e instanceof RatlsError && e.code === 'ERR_DER_MALFORMED',
    );
  });
});
