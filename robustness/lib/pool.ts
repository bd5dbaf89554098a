/**
 * Runs a mutant plan across worker threads with a per-mutant timeout: verification is
 * synchronous CPU work, so only terminating the thread can stop a hang. A hung mutant is
 * recorded as such, the worker is replaced, and the run goes on.
 */
import { Worker } from 'node:worker_threads';
import type { Mutant } from './corpus.js';
import type { Outcome } from './outcome.js';

export interface PoolOptions {
  simDir: string;
  seed: number;
  perRegion: number;
  workers: number;
  timeoutMs: number;
  /** Plan indices to run (default all). */
  indices?: number[];
  onResult: (i: number, o: Outcome) => void;
}

type Msg = { ready: number } | { i: number; outcome: Outcome };

export async function runPool(plan: Mutant[], o: PoolOptions): Promise<void> {
  const queue = o.indices ? [...o.indices] : plan.map((_, i) => i);
  let next = 0;
  const workerUrl = new URL('./worker.ts', import.meta.url);
  const lane = (): Promise<void> =>
    new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      let current = -1;
      let started = 0;
      const spawn = (): Worker => {
        // Node 20 does not apply --import hooks to a worker's entry module: register tsx first.
        const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(workerUrl.href)}); })`;
        const w = new Worker(boot, {
          eval: true,
          execArgv: ['--conditions=development'],
          workerData: { simDir: o.simDir, seed: o.seed, perRegion: o.perRegion },
        });
        const send = (): void => {
          if (next >= queue.length) {
            void w.terminate().then(() => resolve());
            return;
          }
          current = queue[next++] as number;
          started = performance.now();
          w.postMessage(current);
          timer = setTimeout(() => {
            o.onResult(current, { status: 'hang', ms: performance.now() - started });
            w.removeAllListeners();
            void w.terminate().then(() => spawn());
          }, o.timeoutMs);
        };
        w.on('message', (m: Msg) => {
          if ('ready' in m) {
            if (m.ready !== plan.length) reject(new Error(`worker planned ${m.ready} mutants, main ${plan.length}`));
            else send();
            return;
          }
          clearTimeout(timer);
          o.onResult(m.i, m.outcome);
          send();
        });
        w.on('error', (e) => {
          clearTimeout(timer);
          if (current < 0) {
            reject(e);
            return;
          }
          o.onResult(current, { status: 'untyped', error: `worker died: ${e.message}`, ms: 0 });
          w.removeAllListeners();
          spawn();
        });
        return w;
      };
      spawn();
    });
  await Promise.all(Array.from({ length: Math.max(1, o.workers) }, lane));
}
