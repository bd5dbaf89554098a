/**
 * The policy waivers in force, as the console lists them: each dated exception with the policy
 * file it comes from, the identities it covers, what it admits and until when. Read from the
 * gateway's state (the policies), not from peers; reason texts are the operator's own.
 */
import { basename } from 'node:path';
import type { Policy } from '@ratls/verifier';

/** One waiver as the page shows it. */
export interface WaiverRow {
  /** The policy file's name (not its path). */
  policy: string;
  name: string;
  /** The identities it applies to; empty means every identity of the policy. */
  identities: string[];
  tcbStatus: string[];
  advisories: string[];
  /** ISO 8601: the waiver admits nothing from this instant on. */
  until: string;
  reason: string;
  /** False once `until` has passed (it is still in the file, and does nothing). */
  active: boolean;
}

/** Waivers listed at most (a policy holds at most a few dozen). */
export const MAX_WAIVER_ROWS = 256;

/**
 * The waivers of every policy in force at `now` (Unix ms), soonest expiry first.
 * @example waiverRows(state.policies, Date.now())[0]?.until // '2026-03-01T00:00:00.000Z'
 */
export function waiverRows(policies: ReadonlyMap<string, Pick<Policy, 'waivers'>>, now: number): WaiverRow[] {
  const rows: WaiverRow[] = [];
  for (const [path, p] of policies) {
    for (const w of p.waivers ?? []) {
      rows.push({
        policy: basename(path),
        name: w.name,
        identities: [...(w.identities ?? [])],
        tcbStatus: [...w.tcbStatus],
        advisories: [...w.advisories],
        until: new Date(w.until * 1000).toISOString(),
        reason: w.reason,
        // `until` is exclusive (policy/types.ts Waiver): at that second it no longer applies.
        active: w.until * 1000 > now,
      });
    }
  }
  return rows.sort((x, y) => x.until.localeCompare(y.until)).slice(0, MAX_WAIVER_ROWS);
}
