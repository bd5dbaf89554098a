/**
 * Runs fuzz targets with fast-check and keeps its own tally: the property never fails inside
 * fast-check (so every planned input runs); a non-RatlsError throw, or an input slower than the
 * bound, is counted as a failure with its input kept for the report.
 */
import { RatlsError } from '@ratls/evidence';
import fc from 'fast-check';
import type { FuzzTarget } from './fuzz-targets.js';

export interface FuzzStats {
  target: string;
  inputs: number;
  accepted: number;
  refused: number;
  failures: number;
  maxMs: number;
  totalMs: number;
  examples: string[];
  codes: Map<string, number>;
}

function describe(x: unknown): string {
  if (x instanceof Uint8Array) return `bytes(${x.length}) ${Buffer.from(x.subarray(0, 64)).toString('hex')}…`;
  const s =
    typeof x === 'string' ? x : JSON.stringify(x, (_, v) => (v instanceof Uint8Array ? `bytes(${v.length})` : v));
  return JSON.stringify(s.length > 160 ? `${s.slice(0, 160)}…` : s);
}

export function runTarget(t: FuzzTarget, runsPerArb: number, seed: number, slowMs: number): FuzzStats {
  const st: FuzzStats = {
    target: t.name,
    inputs: 0,
    accepted: 0,
    refused: 0,
    failures: 0,
    maxMs: 0,
    totalMs: 0,
    examples: [],
    codes: new Map(),
  };
  t.arbs.forEach((a, k) => {
    fc.assert(
      fc.property(a.arb, (input) => {
        const t0 = performance.now();
        let bad: string | undefined;
        try {
          t.run(input);
          st.accepted++;
        } catch (e) {
          if (e instanceof RatlsError && typeof e.code === 'string' && e.code.startsWith('ERR_')) {
            st.refused++;
            st.codes.set(e.code, (st.codes.get(e.code) ?? 0) + 1);
          } else bad = `${a.label}: untyped ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
        }
        const ms = performance.now() - t0;
        st.inputs++;
        st.totalMs += ms;
        st.maxMs = Math.max(st.maxMs, ms);
        if (!bad && ms > slowMs) bad = `${a.label}: ${ms.toFixed(0)} ms > ${slowMs} ms`;
        if (bad) {
          st.failures++;
          if (st.examples.length < 5) st.examples.push(`${bad} on ${describe(input)}`);
        }
        return true;
      }),
      { numRuns: Math.max(1, Math.round(runsPerArb * (a.weight ?? 1))), seed: seed + k * 7919, endOnFailure: true },
    );
  });
  return st;
}

export function fuzzTable(rows: FuzzStats[]): string {
  const lines = [
    `${'parser'.padEnd(28)}${['inputs', 'accepted', 'refused', 'failures', 'max ms', 'mean µs'].map((c) => c.padStart(11)).join('')}`,
  ];
  let inputs = 0;
  let failures = 0;
  let max = 0;
  for (const r of rows) {
    inputs += r.inputs;
    failures += r.failures;
    max = Math.max(max, r.maxMs);
    lines.push(
      `${r.target.padEnd(28)}${[r.inputs, r.accepted, r.refused, r.failures, r.maxMs.toFixed(1), ((r.totalMs / Math.max(1, r.inputs)) * 1000).toFixed(0)].map((c) => String(c).padStart(11)).join('')}`,
    );
  }
  lines.push(
    `${'TOTAL'.padEnd(28)}${[inputs, '', '', failures, max.toFixed(1), ''].map((c) => String(c).padStart(11)).join('')}`,
  );
  return lines.join('\n');
}
