/**
 * Worker thread for the mutation corpus: loads the same subjects and plan as the main thread,
 * then runs the mutants it is sent one at a time, so the main thread can time each one out.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { materialize, planMutants } from './corpus.js';
import { classify } from './outcome.js';
import { loadSubjects } from './subjects.js';

interface Data {
  simDir: string;
  seed: number;
  perRegion: number;
}

const d = workerData as Data;
const subjects = await loadSubjects(d.simDir);
const plan = planMutants(subjects, { seed: d.seed, perRegion: d.perRegion });
const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
port.on('message', async (i: number) => {
  const m = plan[i];
  if (!m) return;
  const outcome = await classify(materialize(subjects, m.op));
  port.postMessage({ i, outcome });
});
port.postMessage({ ready: plan.length });
