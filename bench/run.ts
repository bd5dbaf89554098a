/**
 * `npm run bench`: every benchmark against its peer, side by side in one run, medians, ratios and
 * the spread of rounds. `npm run bench -- dcap handshake` runs a subset; `--quick` a short run;
 * `--workers 1,2` the gateway worker counts (each against HAProxy nbthread of the same count;
 * default 1,2); `--profile DIR` CPU profiles of every gateway process. Numbers go into
 * docs/performance.md and issue notes; benchmarks never gate CI.
 */
import { optionsFromArgv, VALUE_OPTIONS } from './stats.js';

const SUITES = ['dcap', 'snp-nitro', 'handshake', 'channel', 'memory', 'gateway', 'fleet', 'postgres'] as const;

const opts = optionsFromArgv(process.argv);
const args = process.argv
  .slice(2)
  .filter((a, i, all) => !a.startsWith('--') && !(VALUE_OPTIONS as readonly string[]).includes(all[i - 1] ?? ''));
const selected = SUITES.filter((s) => args.length === 0 || args.includes(s));
console.log(
  `ratls bench: node ${process.version}, ${new Date().toISOString()}${opts.quick ? ', --quick' : ''}, gateway workers ${opts.workers.join(',')}`,
);
const t0 = performance.now();
for (const name of selected) {
  console.log(`\n== ${name}`);
  const mod = (await import(`./${name}.ts`)) as { run: (o: typeof opts) => Promise<void> };
  await mod.run(opts);
}
console.log(`\nbench done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
