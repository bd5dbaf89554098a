import { ConfigError } from '@ratls/evidence';

/** `at` as unix seconds: a Date, or a number of unix seconds (the ratls convention). */
export function atSeconds(at: Date | number, step: string): number {
  const s = at instanceof Date ? at.getTime() / 1000 : at;
  if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) {
    throw new ConfigError('ERR_AT_INVALID', step, `verification time "at" is not a valid time: ${String(at)}`);
  }
  return Math.floor(s);
}
