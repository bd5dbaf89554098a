/**
 * One mutation run end to end: simulated material in a temporary folder, the plan, the worker
 * pool, the tally. Shared by `npm run mutate` and the CI slice in mutate.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { planMutants } from './corpus.js';
import { Tally } from './outcome.js';
import { runPool } from './pool.js';
import { loadSubjects, prepareSimulation } from './subjects.js';

export interface MutationRunOptions {
  seed: number;
  perRegion: number;
  workers: number;
  timeoutMs: number;
}

export interface MutationRunReport {
  tally: Tally;
  planned: number;
  subjects: { quotes: number; certs: number; collaterals: number };
  seconds: number;
}

export async function mutationRun(o: MutationRunOptions): Promise<MutationRunReport> {
  const t0 = performance.now();
  const simDir = await mkdtemp(join(tmpdir(), 'ratls-mutate-'));
  try {
    await prepareSimulation(simDir);
    const subjects = await loadSubjects(simDir);
    const plan = planMutants(subjects, { seed: o.seed, perRegion: o.perRegion });
    const tally = new Tally();
    await runPool(plan, {
      simDir,
      seed: o.seed,
      perRegion: o.perRegion,
      workers: o.workers,
      timeoutMs: o.timeoutMs,
      onResult: (i, outcome) => {
        const m = plan[i];
        if (m) tally.add(m, outcome, JSON.stringify(m.op));
      },
    });
    return {
      tally,
      planned: plan.length,
      subjects: {
        quotes: subjects.quotes.length,
        certs: subjects.certs.length,
        collaterals: subjects.collaterals.size,
      },
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    await rm(simDir, { recursive: true, force: true });
  }
}
