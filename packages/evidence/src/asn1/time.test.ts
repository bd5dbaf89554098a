/**
 * derTime's integer calendar against the `Date.UTC` round trip it replaced (the reference,
 * kept here as the oracle): the same seconds for every date it accepts, the same refusal
 * (ERR_DER_MALFORMED) for every one it refuses. Exhaustive over every UTCTime year, month and
 * day field 00-99 (so every out-of-range form too) and over GeneralizedTime years around every
 * calendar edge; a property test over arbitrary digit strings for the rest.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { RatlsError } from '../errors.js';
import { readDer } from './der.js';
import { daysFromCivil, daysInMonth, derTime } from './time.js';

/** The previous implementation's decision on the digits (all digits, Z present, right length). */
function reference(year: number, mo: number, d: number, h: number, mi: number, se: number): number | 'refused' {
  const ms = Date.UTC(year, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  if (
    year < 1 ||
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== se
  ) {
    return 'refused';
  }
  return ms / 1000;
}

const two = (n: number): string => String(n).padStart(2, '0');
function tlv(tag: number, s: string): Uint8Array {
  const c = new TextEncoder().encode(s);
  return Uint8Array.from([tag, c.length, ...c]);
}
function read(x: Uint8Array): number | 'refused' {
  try {
    return derTime(x, readDer(x));
  } catch (e) {
    assert.ok(e instanceof RatlsError && e.code === 'ERR_DER_MALFORMED', String(e));
    return 'refused';
  }
}
function utc(yy: number, mo: number, d: number, h: number, mi: number, se: number): Uint8Array {
  return tlv(0x17, `${two(yy)}${two(mo)}${two(d)}${two(h)}${two(mi)}${two(se)}Z`);
}
function gen(y: number, mo: number, d: number, h: number, mi: number, se: number): Uint8Array {
  return tlv(0x18, `${String(y).padStart(4, '0')}${two(mo)}${two(d)}${two(h)}${two(mi)}${two(se)}Z`);
}

describe('asn1 time: integer calendar equals the Date round trip', () => {
  test('every UTCTime year × month field 00-13 × day field 00-32; month and day fields 00-99', () => {
    for (let yy = 0; yy < 100; yy++) {
      const year = yy >= 50 ? 1900 + yy : 2000 + yy;
      for (let mo = 0; mo <= 13; mo++) {
        for (let d = 0; d <= 32; d++) {
          assert.equal(read(utc(yy, mo, d, 12, 30, 45)), reference(year, mo, d, 12, 30, 45), `${yy} ${mo} ${d}`);
        }
      }
    }
    for (const yy of [24, 25]) {
      for (let mo = 0; mo < 100; mo++) {
        for (let d = 0; d < 100; d++) {
          assert.equal(read(utc(yy, mo, d, 0, 0, 0)), reference(2000 + yy, mo, d, 0, 0, 0), `${yy} ${mo} ${d}`);
        }
      }
    }
  });
  test('every hour, minute and second field 00-99', () => {
    for (let h = 0; h < 100; h++) {
      for (let mi = 0; mi < 100; mi++) {
        assert.equal(read(utc(24, 2, 29, h, mi, 59)), reference(2024, 2, 29, h, mi, 59), `${h}:${mi}`);
        assert.equal(read(utc(24, 2, 29, 23, h, mi)), reference(2024, 2, 29, 23, h, mi), `23:${h}:${mi}`);
      }
    }
  });
  test('GeneralizedTime years around every calendar edge (0000-0110, centuries, 9999)', () => {
    const years = new Set<number>();
    for (let y = 0; y <= 110; y++) years.add(y);
    for (const c of [1600, 1700, 1900, 1970, 2000, 2100, 2400, 9900]) for (let y = c - 4; y <= c + 4; y++) years.add(y);
    for (let y = 9990; y <= 9999; y++) years.add(y);
    for (const y of years) {
      for (let mo = 0; mo <= 13; mo++) {
        for (let d = 0; d <= 32; d++) {
          assert.equal(read(gen(y, mo, d, 23, 59, 59)), reference(y, mo, d, 23, 59, 59), `${y} ${mo} ${d}`);
        }
      }
    }
  });
  test('property: arbitrary digits in every field, both forms', () => {
    const f2 = fc.integer({ min: 0, max: 99 });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), f2, f2, f2, f2, f2, (y, mo, d, h, mi, se) => {
        assert.equal(read(gen(y, mo, d, h, mi, se)), reference(y, mo, d, h, mi, se));
        const yy = y % 100;
        assert.equal(read(utc(yy, mo, d, h, mi, se)), reference(yy >= 50 ? 1900 + yy : 2000 + yy, mo, d, h, mi, se));
      }),
      { numRuns: 5000 },
    );
  });
  test('daysFromCivil and daysInMonth agree with Date for every day of 1600-2500', () => {
    for (let y = 1600; y <= 2500; y++) {
      for (let mo = 1; mo <= 12; mo++) {
        const n = daysInMonth(y, mo);
        assert.equal(new Date(Date.UTC(y, mo, 0)).getUTCDate(), n, `${y}-${mo}`);
        for (let d = 1; d <= n; d++) assert.equal(daysFromCivil(y, mo, d) * 86400000, Date.UTC(y, mo - 1, d));
      }
    }
  });
});
