/** Small typed readers for the signed collateral JSON (TCB info, QE identity). */
import { CollateralError, daysFromCivil, daysInMonth, type ErrorCode, fromHex, TCB_STATUSES } from '@ratls/evidence';
import type { TcbStatus } from '../result.js';
import { secondsFromMs } from '../time.js';

export type Obj = Record<string, unknown>;

/**
 * Field paths are either plain text or a template with `#` for one array index, passed with the
 * index (`r.uint(v, 'tcbLevels[#].tcb.pcesvn', 255, i)`): the text is made only for an error
 * message, never per field read (building a path per field was a share of a cold appraisal).
 */
function where(path: string, i: number | undefined): string {
  return i === undefined ? path : path.replace('#', String(i));
}

export class FieldReader {
  constructor(
    readonly code: ErrorCode,
    readonly step: string,
    readonly what: string,
  ) {}

  fail(msg: string, cause?: unknown): never {
    throw new CollateralError(this.code, this.step, `${this.what}: ${msg}`, cause ? { cause } : undefined);
  }

  obj(v: unknown, path: string, i?: number): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`${where(path, i)} must be an object`);
    return v as Obj;
  }

  arr(v: unknown, path: string, max = 1024): unknown[] {
    if (!Array.isArray(v)) this.fail(`${path} must be an array`);
    if (v.length > max) this.fail(`${path} has more than ${max} entries`);
    return v;
  }

  uint(v: unknown, path: string, max = 0xffff, i?: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      this.fail(`${where(path, i)} must be an integer in 0..${max}`);
    }
    return v;
  }

  str(v: unknown, path: string, i?: number): string {
    if (typeof v !== 'string') this.fail(`${where(path, i)} must be a string`);
    return v;
  }

  hex(v: unknown, path: string, bytes: number): Uint8Array {
    const s = this.str(v, path);
    if (s.length !== bytes * 2) this.fail(`${path} must be ${bytes} bytes of hex`);
    try {
      return fromHex(s, path);
    } catch (e) {
      return this.fail(`${path} is not hex`, e);
    }
  }

  /** ISO 8601 UTC date-time ("2025-06-19T10:56:11Z") → unix seconds. */
  date(v: unknown, path: string, i?: number): number {
    const s = this.str(v, path, i);
    const fast = isoUtcSecondsFast(s);
    if (fast !== undefined) return fast;
    if (!ISO_UTC.test(s)) this.fail(`${where(path, i)} is not an ISO 8601 UTC time`);
    const t = Date.parse(s);
    if (Number.isNaN(t)) this.fail(`${where(path, i)} is not a valid time`);
    return secondsFromMs(t);
  }

  status(v: unknown, path: string, i?: number): TcbStatus {
    const s = this.str(v, path, i);
    if (!TCB_STATUS_SET.has(s)) this.fail(`${where(path, i)} "${s}" is not a known TCB status`);
    return s as TcbStatus;
  }

  advisories(v: unknown, path: string, i?: number): string[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(`${where(path, i)} must be an array`);
    if (v.length > 4096) this.fail(`${where(path, i)} has more than 4096 entries`);
    const out = new Array<string>(v.length);
    for (let k = 0; k < v.length; k++) {
      const x: unknown = v[k];
      if (typeof x !== 'string') this.fail(`${where(path, i)}[${k}] must be a string`);
      out[k] = x;
    }
    return out;
  }

  parse(json: string, maxBytes: number): Obj {
    if (typeof json !== 'string') this.fail('expected JSON text');
    if (json.length > maxBytes) this.fail(`JSON exceeds ${maxBytes} bytes`);
    let v: unknown;
    try {
      v = JSON.parse(json);
    } catch (e) {
      this.fail('not valid JSON', e);
    }
    return this.obj(v, 'top level');
  }
}

/** ASCII digit at `i` of `s` as a number, or NaN (so any non-digit fails the range checks below). */
function digitAt(s: string, i: number): number {
  const c = s.charCodeAt(i) - 0x30;
  return c >= 0 && c <= 9 ? c : Number.NaN;
}

/**
 * Fast path of `FieldReader.date` for the one form Intel's collateral uses, exactly
 * `YYYY-MM-DDTHH:MM:SSZ` naming a real calendar second (years 0100-9999, no 24:00, no 30 February):
 * its unix seconds by integer arithmetic, without the regex and `Date.parse` (one call per TCB
 * level, a share of a cold appraisal). Anything else, valid or not, is `undefined` and goes to
 * the reference (`ISO_UTC`, then `Date.parse`), which decides it as it always did;
 * `json-fields.test.ts` holds the two to the same seconds wherever this one answers.
 */
export function isoUtcSecondsFast(s: string): number | undefined {
  if (
    s.length !== 20 ||
    s.charCodeAt(4) !== 0x2d ||
    s.charCodeAt(7) !== 0x2d ||
    s.charCodeAt(10) !== 0x54 ||
    s.charCodeAt(13) !== 0x3a ||
    s.charCodeAt(16) !== 0x3a ||
    s.charCodeAt(19) !== 0x5a
  ) {
    return undefined;
  }
  const year = digitAt(s, 0) * 1000 + digitAt(s, 1) * 100 + digitAt(s, 2) * 10 + digitAt(s, 3);
  const mo = digitAt(s, 5) * 10 + digitAt(s, 6);
  const d = digitAt(s, 8) * 10 + digitAt(s, 9);
  const h = digitAt(s, 11) * 10 + digitAt(s, 12);
  const mi = digitAt(s, 14) * 10 + digitAt(s, 15);
  const se = digitAt(s, 17) * 10 + digitAt(s, 18);
  // Written so that NaN (a non-digit) fails every comparison and falls through to the reference.
  if (!(year >= 100 && mo >= 1 && mo <= 12 && d >= 1 && h <= 23 && mi <= 59 && se <= 59)) return undefined;
  if (!(d <= daysInMonth(year, mo))) return undefined;
  return daysFromCivil(year, mo, d) * 86400 + h * 3600 + mi * 60 + se;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const TCB_STATUS_SET: ReadonlySet<string> = new Set<string>(TCB_STATUSES);
