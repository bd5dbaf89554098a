/**
 * The one time reader: UTCTime and GeneralizedTime in the DER forms RFC 5280 §4.1.2.5 allows
 * (`YYMMDDHHMMSSZ`, `YYYYMMDDHHMMSSZ`: UTC `Z` required, seconds required, no fractional seconds),
 * UTCTime years 50-99 being 19xx and 00-49 being 20xx (§4.1.2.5.1). Calendar-checked (no 31 April).
 *
 * Fixed layout and integer arithmetic, no `Date`: every field is range-checked against the
 * proleptic Gregorian calendar (leap years by the 4/100/400 rule) and the seconds are counted
 * from 1970-01-01 with the days-from-civil formula. A `Date.UTC` round trip did the same at
 * several times the cost on every certificate and CRL of a cold DCAP appraisal (issue 12).
 * GeneralizedTime years 0000-0099 stay refused as out of range, as the round trip refused them
 * (Date.UTC maps years 0-99 to 1900-1999); no certificate carries them.
 */
import { type DerNode, derError, TAG_GENERALIZED_TIME, TAG_UTC_TIME } from './der.js';

function digits(buf: Uint8Array, from: number, n: number, at: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = (buf[i] as number) - 0x30;
    if (c < 0 || c > 9) throw derError('non-digit in time', at);
    v = v * 10 + c;
  }
  return v;
}

/**
 * Days in month `mo` (1-12) of `year`, proleptic Gregorian.
 * @example daysInMonth(2024, 2) // 29
 */
export function daysInMonth(year: number, mo: number): number {
  if (mo === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

/**
 * Days from 1970-01-01 to `year`-`mo`-`d` (a valid date, year >= 1), by the days-from-civil
 * count in 400-year eras (every era has 146097 days; March-based years put the leap day last).
 * @example daysFromCivil(2025, 1, 1) * 86400 // 1735689600
 */
export function daysFromCivil(year: number, mo: number, d: number): number {
  const y = mo <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * A UTCTime or GeneralizedTime node → unix seconds.
 * @example derTime(der, notAfterNode) // 2524607999 for 491231235959Z
 */
export function derTime(buf: Uint8Array, node: DerNode): number {
  const s = node.contentStart;
  const len = node.end - s;
  let year: number;
  let p: number;
  if (node.tag === TAG_UTC_TIME && len === 13) {
    const yy = digits(buf, s, 2, node.start);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    p = s + 2;
  } else if (node.tag === TAG_GENERALIZED_TIME && len === 15) {
    year = digits(buf, s, 4, node.start);
    p = s + 4;
  } else if (node.tag === TAG_UTC_TIME || node.tag === TAG_GENERALIZED_TIME) {
    throw derError(`time of ${len} characters (RFC 5280: seconds and Z, no fraction)`, node.start);
  } else {
    throw derError(`expected UTCTime or GeneralizedTime, found tag 0x${node.tag.toString(16)}`, node.start);
  }
  if (buf[node.end - 1] !== 0x5a) throw derError('time not in UTC (Z)', node.start);
  const mo = digits(buf, p, 2, node.start);
  const d = digits(buf, p + 2, 2, node.start);
  const h = digits(buf, p + 4, 2, node.start);
  const mi = digits(buf, p + 6, 2, node.start);
  const se = digits(buf, p + 8, 2, node.start);
  if (year < 100 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(year, mo) || h > 23 || mi > 59 || se > 59) {
    throw derError('time out of range', node.start);
  }
  return daysFromCivil(year, mo, d) * 86400 + h * 3600 + mi * 60 + se;
}
