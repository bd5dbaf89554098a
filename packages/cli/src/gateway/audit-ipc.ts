/**
 * A cluster worker's audit events on their way to the primary's one writer (docs/gateway.md,
 * "Process model"): plain event data over IPC, batched per tick, in order.
 */
import type { AuditEvent } from '@ratls/verifier';
import type { FromWorker } from './worker.js';

/** Bound on events sent in one message: a burst of rejects is split, never one huge write. */
const MAX_AUDIT_BATCH = 256;

/**
 * The worker's side of the one audit writer: events are queued and sent to the primary once per
 * tick as one message (the bench's profile of a worker: one `process.send` per event was ~10 %
 * of its busy time, most of it the write of each message). Order is kept; `flush` sends what is
 * queued, so a drain that flushes before 'drained' loses nothing.
 * @example workerAudit.send(ev, log) // in a cluster worker's audit sink
 */
export const workerAudit = (() => {
  let queue: AuditEvent[] = [];
  let scheduled = false;
  let onError: ((why: string, n: number) => void) | undefined;
  const flush = (): void => {
    scheduled = false;
    while (queue.length > 0) {
      const evs = queue.slice(0, MAX_AUDIT_BATCH);
      queue = queue.slice(evs.length);
      // With the primary gone the channel is closed: a send without a callback would raise an
      // 'error' on the process and end the worker mid-drain. Say so on the operational log instead.
      if (!process.connected || !process.send) {
        onError?.('the channel to the primary is closed', evs.length);
        continue;
      }
      process.send({ t: 'audits', evs } satisfies FromWorker, undefined, {}, (e) => {
        if (e) onError?.(`sending to the primary failed: ${e.message}`, evs.length);
      });
    }
  };
  return {
    send(ev: AuditEvent, report: (why: string, n: number) => void): void {
      onError = report;
      queue.push(ev);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
})();
