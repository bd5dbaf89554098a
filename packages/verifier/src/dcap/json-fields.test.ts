/**
 * The collateral date reader's fast path (`isoUtcSecondsFast`) against its reference (the ISO
 * regex and `Date.parse`): wherever the fast path answers, the reference gives the same seconds;
 * everything else still goes to the reference and is decided and named as before.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { FieldReader, isoUtcSecondsFast } from './json-fields.js';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
/** What `FieldReader.date` decided before the fast path: seconds, or refused. */
function reference(s: string): number | 'refused' {
  if (!ISO_UTC.test(s)) return 'refused';
  const t = Date.parse(s);
  return Number.isNaN(t) ? 'refused' : Math.floor(t / 1000);
}
const r = new FieldReader('ERR_TCB_INFO_MALFORMED', 'tcb-info', 'TCB info');
function viaReader(s: string): number | 'refused' {
  try {
    return r.date(s, 'issueDate');
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'ERR_TCB_INFO_MALFORMED');
    return 'refused';
  }
}
function check(s: string): void {
  const fast = isoUtcSecondsFast(s);
  if (fast !== undefined) assert.equal(fast, reference(s), s);
  assert.equal(viaReader(s), reference(s), s);
}
const two = (n: number): string => String(n).padStart(2, '0');
const iso = (y: number, mo: number, d: number, h: number, mi: number, se: number): string =>
  `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)}T${two(h)}:${two(mi)}:${two(se)}Z`;

describe('collateral dates: fixed-layout fast path equals the reference', () => {
  test('the fast path answers the real form', () => {
    assert.equal(isoUtcSecondsFast('2025-06-19T10:56:11Z'), Date.parse('2025-06-19T10:56:11Z') / 1000);
    assert.equal(isoUtcSecondsFast('2024-02-29T23:59:59Z'), Date.parse('2024-02-29T23:59:59Z') / 1000);
  });
  test('forms it declines go to the reference, which decides as before', () => {
    for (const s of [
      '2025-02-30T00:00:00Z', // Date.parse rolls over: the reference accepts it, as it did
      '2025-01-01T24:00:00Z',
      '2025-06-19T10:56:11.5Z',
      '2025-06-19T10:56:11+00:00',
      '2025-06-19 10:56:11Z',
      '0000-01-01T00:00:00Z',
      '2025-13-01T00:00:00Z',
      '2025-01-01T23:60:00Z',
      '２０２５-06-19T10:56:11Z',
      '',
    ]) {
      assert.equal(isoUtcSecondsFast(s), undefined, s);
      check(s);
    }
  });
  test('every month field 00-13 and day field 00-32 in leap, common and century years; every time field 00-61', () => {
    for (const y of [1900, 1970, 2000, 2023, 2024, 2100, 2400, 9999])
      for (let mo = 0; mo <= 13; mo++) for (let d = 0; d <= 32; d++) check(iso(y, mo, d, 1, 2, 3));
    for (let h = 0; h <= 25; h++)
      for (let mi = 0; mi <= 61; mi++) for (const se of [0, 59, 60, 61]) check(iso(2025, 6, 19, h, mi, se));
  });
  test('property: random fields and random characters at any position', () => {
    const f2 = fc.integer({ min: 0, max: 99 });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        f2,
        f2,
        f2,
        f2,
        f2,
        fc.nat(19),
        fc.string({ minLength: 1, maxLength: 1, unit: 'binary' }),
        (y, mo, d, h, mi, se, at, ch) => {
          const s = iso(y, mo, d, h, mi, se);
          check(s);
          check(s.slice(0, at) + ch + s.slice(at + 1));
        },
      ),
      { numRuns: 5000 },
    );
  });
});
