/**
 * Alerts for chosen refusal reasons (`measurement_mismatch` first of all): to an HTTP webhook
 * and/or a JSON-lines file. `offer` only queues, so a handshake never waits for an alert; batches
 * leave at most every `batchMs`, at most `maxBatchesPerMinute`, each POST retried with backoff.
 * Each alert carries its audit event id (eventId), so the receiver can find the whole event.
 */
import { appendFileSync } from 'node:fs';
import type { AuditEvent } from '@ratls/verifier';
import { explainDecision } from './explain.js';
import { eventId, isDecision } from './tally.js';

export interface AlertOptions {
  /** POST target for JSON batches. */
  webhook?: string;
  /** File appended with one JSON batch per line (created 0600). */
  file?: string;
  /** Refusal reasons that raise an alert. */
  reasons: string[];
  /** How long alerts gather before a batch leaves (a burst becomes one batch). */
  batchMs: number;
  /** Batches per minute, at most; alerts past it wait for the next batch (never dropped below maxQueued). */
  maxBatchesPerMinute: number;
  /** Attempts per webhook batch after the first. */
  retries: number;
  /** Timeout of one webhook attempt. */
  timeoutMs: number;
}

export const DEFAULT_ALERTS: AlertOptions = {
  reasons: ['measurement_mismatch'],
  batchMs: 1_000,
  maxBatchesPerMinute: 6,
  retries: 4,
  timeoutMs: 5_000,
};
/** Alerts held at most; beyond it the oldest are dropped and the next batch says how many. */
export const MAX_QUEUED_ALERTS = 1_000;
const BACKOFF_BASE_MS = 250;

export interface Alert {
  id: string;
  at: string;
  reason: string;
  message: string;
  listener?: string;
  peer?: string;
  /** The identity that came closest, as `explainDecision` reads it (the console and `ratls report` name the same). */
  closest?: string;
}

export interface AlertBatch {
  kind: 'ratls-alerts';
  count: number;
  /** Alerts lost to the queue bound since the previous batch. */
  dropped: number;
  alerts: Alert[];
}

function toAlert(ev: AuditEvent): Alert {
  const s = ev.source;
  const closest = explainDecision(ev).identity;
  return {
    id: eventId(ev),
    at: ev['@timestamp'],
    reason: ev.event.reason,
    message: ev.message,
    ...(ev.labels?.listener ? { listener: ev.labels.listener } : {}),
    ...(s?.ip ? { peer: s.port !== undefined ? `${s.ip}:${s.port}` : s.ip } : {}),
    ...(closest ? { closest } : {}),
  };
}

/**
 * @example
 * const alerts = new Alerter({ ...DEFAULT_ALERTS, webhook: 'https://oncall.example/hook' }, log);
 * const audit = tapAudit(createAuditLog({ sink }), (ev) => alerts.offer(ev));
 */
/** Where the alerter says that a batch was lost (the gateway's operational log). */
export type AlertLog = (level: 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;

export class Alerter {
  #o: AlertOptions;
  #log: AlertLog;
  #wanted: Set<string>;
  #queue: Alert[] = [];
  #dropped = 0;
  #timer: NodeJS.Timeout | undefined;
  #sentAt: number[] = [];
  #inflight = new Set<Promise<void>>();
  #closed = false;

  constructor(o: AlertOptions, log: AlertLog = () => undefined) {
    this.#o = o;
    this.#log = log;
    this.#wanted = new Set(o.reasons);
  }

  /** Queues an alert when `ev` is a refusal for a chosen reason; returns at once. */
  offer(ev: AuditEvent): void {
    if (this.#closed || !isDecision(ev) || ev.event.outcome === 'success' || !this.#wanted.has(ev.event.reason)) return;
    this.#queue.push(toAlert(ev));
    if (this.#queue.length > MAX_QUEUED_ALERTS) {
      this.#queue.shift();
      this.#dropped++;
    }
    this.#schedule(this.#o.batchMs);
  }

  #schedule(ms: number): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#send();
    }, ms).unref();
  }

  /** `force`: shutdown sends what is left, whatever the rate. */
  #send(force = false): void {
    if (this.#queue.length === 0) return;
    const now = Date.now();
    this.#sentAt = this.#sentAt.filter((t) => now - t < 60_000);
    if (!force && this.#sentAt.length >= this.#o.maxBatchesPerMinute) {
      // Rate limit: wait for the oldest batch of the minute to age out; alerts gather meanwhile.
      this.#schedule(60_000 - (now - (this.#sentAt[0] as number)) + 1);
      return;
    }
    this.#sentAt.push(now);
    const batch: AlertBatch = {
      kind: 'ratls-alerts',
      count: this.#queue.length,
      dropped: this.#dropped,
      alerts: this.#queue,
    };
    this.#queue = [];
    this.#dropped = 0;
    if (this.#o.file) {
      try {
        appendFileSync(this.#o.file, `${JSON.stringify(batch)}\n`, { mode: 0o600 });
      } catch (e) {
        this.#log('error', `alert file ${this.#o.file}: ${(e as Error).message}`, { alerts: batch.count });
      }
    }
    if (this.#o.webhook) {
      const p = this.#post(this.#o.webhook, batch).finally(() => this.#inflight.delete(p));
      this.#inflight.add(p);
    }
  }

  async #post(url: string, batch: AlertBatch): Promise<void> {
    const body = JSON.stringify(batch);
    for (let attempt = 0; attempt <= this.#o.retries; attempt++) {
      try {
        const r = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(this.#o.timeoutMs),
        });
        await r.body?.cancel();
        if (r.ok) return;
        // A 4xx other than 429 will not get better by asking again.
        if (r.status < 500 && r.status !== 429) break;
      } catch {
        // Network error or timeout: retried below.
      }
      if (attempt < this.#o.retries && !this.#closed) {
        await new Promise((res) => setTimeout(res, BACKOFF_BASE_MS * 2 ** attempt).unref());
      }
    }
    this.#log('error', 'alert webhook failed; batch lost (the audit log keeps every event)', {
      alerts: batch.count,
      ids: batch.alerts.slice(0, 10).map((a) => a.id),
    });
  }

  /** Sends what is queued now (not waiting for batchMs or the rate) and waits for webhook attempts. */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#send(true);
    await Promise.all([...this.#inflight]);
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }
}
