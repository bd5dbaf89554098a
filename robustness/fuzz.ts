/**
 * `npm run fuzz`: the long fuzzing run over every parser (see lib/fuzz-targets.ts).
 *
 *   npm run fuzz -- [--total 1000000] [--seed 1] [--workers 2] [--slow-ms 1000]
 *
 * `--total` is spread evenly over the targets and their arbitraries (YAML bombs get 2 % of a
 * share). Prints inputs, results and the slowest input per parser; exit status 1 on any failure
 * (an untyped exception, or one input slower than --slow-ms).
 */
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { type FuzzStats, fuzzTable } from './lib/fuzz-run.js';
import { fuzzTargets, loadSeeds } from './lib/fuzz-targets.js';

const { values } = parseArgs({
  options: {
    total: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    workers: { type: 'string', default: String(Math.min(2, availableParallelism())) },
    'slow-ms': { type: 'string', default: '1000' },
  },
});
const total = Number(values.total);
const targets = fuzzTargets(loadSeeds());
const arbShares = targets.reduce((n, t) => n + t.arbs.reduce((m, a) => m + (a.weight ?? 1), 0), 0);
const runsPerArb = Math.ceil(total / arbShares);
const workers = Math.max(1, Number(values.workers));
console.log(
  `fuzz: ${targets.length} parsers, ${runsPerArb} inputs per arbitrary, ${workers} workers, seed ${values.seed}`,
);

// Cost differs a lot per parser (YAML vs. fixed layouts): deal them round-robin by expected cost.
const groups: string[][] = Array.from({ length: workers }, () => []);
targets.forEach((t, i) => {
  groups[i % workers]?.push(t.name);
});
const t0 = performance.now();
const rows: FuzzStats[] = [];
const workerUrl = new URL('./lib/fuzz-worker.ts', import.meta.url);
await Promise.all(
  groups.map(
    (names) =>
      new Promise<void>((resolve, reject) => {
        // Node 20 does not apply --import hooks to a worker's entry module: register tsx first.
        const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
        const w = new Worker(boot, {
          eval: true,
          execArgv: ['--conditions=development'],
          workerData: { names, runsPerArb, seed: Number(values.seed), slowMs: Number(values['slow-ms']) },
        });
        w.on('message', (m: Omit<FuzzStats, 'codes'> & { codes: [string, number][] }) => {
          rows.push({ ...m, codes: new Map(m.codes) });
          console.log(`  ${m.target}: ${m.inputs} inputs, ${m.failures} failures, max ${m.maxMs.toFixed(1)} ms`);
        });
        w.on('error', reject);
        w.on('exit', () => resolve());
      }),
  ),
);
rows.sort((a, b) => targets.findIndex((t) => t.name === a.target) - targets.findIndex((t) => t.name === b.target));
console.log(fuzzTable(rows));
const inputs = rows.reduce((n, r) => n + r.inputs, 0);
const failures = rows.reduce((n, r) => n + r.failures, 0);
console.log(`\n${inputs} inputs in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${failures} failures`);
for (const r of rows) for (const e of r.examples) console.log(`FAILURE ${r.target}: ${e}`);
process.exitCode = failures === 0 && rows.length === targets.length ? 0 : 1;
