/** Small typed readers for the signed collateral JSON (TCB info, QE identity). */
import { CollateralError, type ErrorCode, fromHex, TCB_STATUSES } from '@ratls/evidence';
import type { TcbStatus } from '../result.js';
import { secondsFromMs } from '../time.js';

export type Obj = Record<string, unknown>;

export class FieldReader {
  constructor(
    readonly code: ErrorCode,
    readonly step: string,
    readonly what: string,
  ) {}

  fail(msg: string, cause?: unknown): never {
    throw new CollateralError(this.code, this.step, `${this.what}: ${msg}`, cause ? { cause } : undefined);
  }

  obj(v: unknown, path: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(`${path} must be an object`);
    return v as Obj;
  }

  arr(v: unknown, path: string, max = 1024): unknown[] {
    if (!Array.isArray(v)) this.fail(`${path} must be an array`);
    if (v.length > max) this.fail(`${path} has more than ${max} entries`);
    return v;
  }

  uint(v: unknown, path: string, max = 0xffff): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
      this.fail(`${path} must be an integer in 0..${max}`);
    }
    return v;
  }

  str(v: unknown, path: string): string {
    if (typeof v !== 'string') this.fail(`${path} must be a string`);
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
  date(v: unknown, path: string): number {
    const s = this.str(v, path);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(s)) this.fail(`${path} is not an ISO 8601 UTC time`);
    const t = Date.parse(s);
    if (Number.isNaN(t)) this.fail(`${path} is not a valid time`);
    return secondsFromMs(t);
  }

  status(v: unknown, path: string): TcbStatus {
    const s = this.str(v, path);
    if (!TCB_STATUS_SET.has(s)) this.fail(`${path} "${s}" is not a known TCB status`);
    return s as TcbStatus;
  }

  advisories(v: unknown, path: string): string[] {
    if (v === undefined) return [];
    return this.arr(v, path, 4096).map((x, i) => this.str(x, `${path}[${i}]`));
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

const TCB_STATUS_SET: ReadonlySet<string> = new Set<string>(TCB_STATUSES);
