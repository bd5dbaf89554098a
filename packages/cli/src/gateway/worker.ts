/**
 * The worker side of the cluster process model (docs/gateway.md, "Process model"): runs the
 * listeners of one configuration and answers the primary over IPC. Messages are plain data:
 * audit events, metric values, reload and drain results, accepted quotes for the early TCB watch;
 * never a verified result.
 */
import { toRatlsError } from '@ratls/evidence';
import { workerAudit } from './audit-ipc.js';
import type { CollateralAsk, KdsAsk } from './collateral-ipc.js';
import type { EarlyAsk } from './early-ipc.js';
import { startGateway } from './gateway.js';
import { WORKER_METRICS } from './metrics.js';

/** Primary → worker. */
export type ToWorker = { t: 'metrics'; id: number } | { t: 'reload'; id: number } | { t: 'drain' };
/** Worker → primary. */
export type FromWorker =
  | { t: 'ready'; addresses: Record<string, { host: string; port: number }> }
  | { t: 'failed'; code: string; message: string }
  /** The audit events of one tick, in order (one IPC message, one write, instead of one each). */
  | { t: 'audits'; evs: import('@ratls/verifier').AuditEvent[] }
  | { t: 'metrics'; id: number; json: unknown[] }
  | { t: 'reload'; id: number; ok: boolean; code?: string; message?: string }
  | { t: 'drained' }
  | CollateralAsk
  | KdsAsk
  /** A certificate-mode accept for the primary's early TCB watch (the quote, never a result). */
  | EarlyAsk;

const send = (m: FromWorker): Promise<void> =>
  new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, {}, () => resolve());
  });

/**
 * Starts this worker's listeners and serves the primary until told to drain.
 * @example await runWorker('/etc/ratls/gateway.yaml') // in a process forked by node:cluster
 */
export async function runWorker(configPath: string): Promise<void> {
  // Signals to the process group (a terminal's ^C, SIGHUP, logrotate's SIGUSR2) are the primary's
  // to act on; SIGUSR1 is caught so the inspector never opens in a worker either (run.ts).
  for (const sig of ['SIGHUP', 'SIGINT', 'SIGUSR1', 'SIGUSR2'] as const) process.on(sig, () => {});
  let gw: Awaited<ReturnType<typeof startGateway>>;
  try {
    gw = await startGateway(configPath);
  } catch (e) {
    const r = toRatlsError(e, 'ERR_GATEWAY_START', 'config');
    await send({ t: 'failed', code: r.code, message: r.message });
    process.exit(2);
  }
  let draining = false;
  const drain = async () => {
    if (draining) return;
    draining = true;
    await gw.close();
    workerAudit.flush();
    // Every audit event was sent before this message on the same channel: none is lost.
    await send({ t: 'drained' });
    process.exit(0);
  };
  process.on('message', (m: ToWorker) => {
    if (m.t === 'metrics') {
      void gw.metrics.registry
        .getMetricsAsJSON()
        .then((all) => send({ t: 'metrics', id: m.id, json: all.filter((x) => WORKER_METRICS.has(x.name)) }));
    } else if (m.t === 'reload') {
      void gw.reload().then((r) =>
        send(
          // A partial reload (`parts` present) applied what validated, from the same files the
          // primary validated: the primary reports the refused parts itself.
          r.ok || r.parts
            ? { t: 'reload', id: m.id, ok: true }
            : { t: 'reload', id: m.id, ok: false, code: r.error.code, message: r.error.message },
        ),
      );
    } else if (m.t === 'drain') {
      void drain();
    }
  });
  // The primary is gone: nobody writes our audit events any more, so stop serving.
  process.on('disconnect', () => void drain());
  await send({ t: 'ready', addresses: gw.addresses() });
}
