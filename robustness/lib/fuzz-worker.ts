/** Worker thread for `npm run fuzz`: runs the targets it is given and posts their stats. */
import { parentPort, workerData } from 'node:worker_threads';
import { runTarget } from './fuzz-run.js';
import { fuzzTargets, loadSeeds } from './fuzz-targets.js';

const d = workerData as { names: string[]; runsPerArb: number; seed: number; slowMs: number };
const targets = fuzzTargets(loadSeeds()).filter((t) => d.names.includes(t.name));
for (const t of targets) {
  const st = runTarget(t, d.runsPerArb, d.seed, d.slowMs);
  parentPort?.postMessage({ ...st, codes: [...st.codes] });
}
