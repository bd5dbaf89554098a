/**
 * Time in the verifier: one unit, unix seconds, as the `UnixSeconds` brand. Every appraisal step,
 * cache and policy takes `at` in these units as an argument and never reads a clock; milliseconds
 * and `Date` exist only at the edges (the TLS wrappers' clock, the CLI and the gateway), which
 * convert once with the functions below. X.509, CRL, TCB info and QE identity times are all whole
 * seconds (RFC 5280 §4.1.2.5), so whole seconds lose nothing.
 */
import { ConfigError } from '@ratls/evidence';

/** Whole unix seconds (UTC). Made only by the conversions here; any `number` in seconds is accepted where the brand is not required. */
export type UnixSeconds = number & { readonly __unit: 'unix-seconds' };

/** A verification time as the public appraisal entry points accept it: a Date, or unix seconds. */
export type AtInput = Date | number;

function seconds(at: AtInput | undefined): number | undefined {
  const s = at instanceof Date ? at.getTime() / 1000 : at;
  return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? Math.floor(s) : undefined;
}

/**
 * `at` as unix seconds for the DCAP and certificate steps; ERR_TIME_INVALID for anything that is not
 * a finite, non-negative time.
 * @example const at = toUnixSeconds(new Date('2025-01-01T00:00:00Z')); // 1735689600
 */
export function toUnixSeconds(at: AtInput | undefined): UnixSeconds {
  const s = seconds(at);
  if (s === undefined) {
    throw new ConfigError('ERR_TIME_INVALID', 'config', '`at` must be a valid Date or non-negative unix seconds');
  }
  return s as UnixSeconds;
}

/**
 * `at` as unix seconds for the SNP and Nitro steps; ERR_AT_INVALID (reported under `step`) for
 * anything that is not a finite, non-negative time.
 * @example const at = atSeconds(1_700_000_000, 'snp');
 */
export function atSeconds(at: AtInput, step: string): UnixSeconds {
  const s = seconds(at);
  if (s === undefined) {
    throw new ConfigError('ERR_AT_INVALID', step, `verification time "at" is not a valid time: ${String(at)}`);
  }
  return s as UnixSeconds;
}

/**
 * Edge conversion: a clock reading in unix milliseconds (`Date.now()`) to whole unix seconds.
 * @example const at = secondsFromMs(Date.now());
 */
export function secondsFromMs(ms: number): UnixSeconds {
  return Math.floor(ms / 1000) as UnixSeconds;
}

/**
 * Edge conversion: unix seconds to a Date (audit timestamps, messages).
 * @example dateFromSeconds(1735689600).toISOString(); // '2025-01-01T00:00:00.000Z'
 */
export function dateFromSeconds(s: number): Date {
  return new Date(s * 1000);
}

/**
 * Unix seconds as ISO 8601, for error messages.
 * @example isoFromSeconds(0); // '1970-01-01T00:00:00.000Z'
 */
export function isoFromSeconds(s: number): string {
  return new Date(s * 1000).toISOString();
}
