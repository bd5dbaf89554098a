/**
 * The one time reader: UTCTime and GeneralizedTime in the DER forms RFC 5280 §4.1.2.5 allows
 * (`YYMMDDHHMMSSZ`, `YYYYMMDDHHMMSSZ`: UTC `Z` required, seconds required, no fractional seconds),
 * UTCTime years 50-99 being 19xx and 00-49 being 20xx (§4.1.2.5.1). Calendar-checked (no 31 April).
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
  const ms = Date.UTC(year, mo - 1, d, h, mi, se);
  const back = new Date(ms);
  // Date.UTC rolls 31 April over to 1 May; a round trip catches every out-of-range field.
  if (
    year < 1 ||
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== mo - 1 ||
    back.getUTCDate() !== d ||
    back.getUTCHours() !== h ||
    back.getUTCMinutes() !== mi ||
    back.getUTCSeconds() !== se
  ) {
    throw derError('time out of range', node.start);
  }
  return ms / 1000;
}
