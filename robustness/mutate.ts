/**
 * `npm run mutate`: the full mutation corpus. Every mutant of a signed byte (quote, collateral,
 * certificate) and every splice must be refused with a typed RatlsError, in time.
 *
 *   npm run mutate -- [--per-region 40] [--seed 1] [--workers 2] [--timeout-ms 10000]
 *
 * Exit status 1 when any mutant was accepted (outside the explained unsigned regions), threw an
 * untyped error, or hung.
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { mutationRun } from './lib/mutation-run.js';

const { values } = parseArgs({
  options: {
    'per-region': { type: 'string', default: '40' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    'timeout-ms': { type: 'string', default: '10000' },
  },
});
const opts = {
  perRegion: Number(values['per-region']),
  seed: Number(values.seed),
  workers: Number(values.workers),
  timeoutMs: Number(values['timeout-ms']),
};
console.log(`mutation corpus: ${JSON.stringify(opts)}`);
const r = await mutationRun(opts);
const t = r.tally.total();
console.log(
  `subjects: ${r.subjects.quotes} quotes, ${r.subjects.certs} certificates, ${r.subjects.collaterals} collateral sets; ${r.planned} mutants planned`,
);
console.log(r.tally.table());
console.log(
  `\n${t.generated} mutants in ${r.seconds.toFixed(1)} s: refused ${t.refused}, accepted ${t.accepted}, unsigned ${t.unsigned}, untyped ${t.untyped}, hang ${t.hang}`,
);
for (const f of r.tally.findings.slice(0, 50)) console.log(`FINDING ${f.subject} ${f.region}: ${f.detail}`);
process.exitCode = r.tally.findings.length === 0 && t.generated === r.planned ? 0 : 1;
