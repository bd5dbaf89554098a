/**
 * The live side of the console: the primary's audit stream (its own events and those its workers
 * send over IPC) goes through `ingest`; the page's Server-Sent Events subscribers hear each
 * decision at once and a coalesced summary shortly after. Bounded: a ring of recent events, a
 * cap on subscribers, and a subscriber that stops reading is dropped, never buffered forever.
 */
import type { AuditEvent, AuditLog } from '@ratls/verifier';
import { type ConsoleEntry, consoleEntry } from './explain.js';
import { type ConsoleSummary, eventId, isDecision, Tally } from './tally.js';
import type { WaiverRow } from './waivers.js';

export type { ConsoleEntry } from './explain.js';

export interface ConsoleHubOptions {
  /** The waivers of the policies in force at a time (Unix ms); the gateway reads them from its state. */
  waivers?: (now: number) => WaiverRow[];
}

export type ConsoleMessage = { kind: 'decision'; entry: ConsoleEntry } | { kind: 'summary'; summary: ConsoleSummary };

/** Recent decisions kept for a page that connects later (and for the detail view). */
export const MAX_RECENT = 500;
/** How long summary updates are coalesced: a burst of refusals is one summary, not thousands. */
export const SUMMARY_COALESCE_MS = 150;

/**
 * @example const hub = new ConsoleHub({ waivers: (now) => waiverRows(state.policies, now) }); const audit = tapAudit(createAuditLog({ sink }), (ev) => hub.ingest(ev));
 */
export class ConsoleHub {
  #opts: ConsoleHubOptions;
  #tally = new Tally();
  #recent: ConsoleEntry[] = [];
  #subs = new Set<(m: ConsoleMessage) => void>();
  #timer: NodeJS.Timeout | undefined;

  constructor(opts: ConsoleHubOptions = {}) {
    this.#opts = opts;
  }

  ingest(ev: AuditEvent): void {
    if (!isDecision(ev)) this.#tally.add(ev);
    else {
      const entry = consoleEntry(ev, eventId(ev));
      this.#tally.add(ev, entry.why);
      this.#recent.push(entry);
      if (this.#recent.length > MAX_RECENT) this.#recent.shift();
      for (const s of this.#subs) s({ kind: 'decision', entry });
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      const summary = this.#tally.summary();
      for (const s of this.#subs) s({ kind: 'summary', summary });
    }, SUMMARY_COALESCE_MS).unref();
  }

  summary(): ConsoleSummary {
    return this.#tally.summary();
  }

  /** The waivers in force at `now` (empty when the gateway gave no source of them). */
  waivers(now: number): WaiverRow[] {
    return this.#opts.waivers?.(now) ?? [];
  }

  recent(): ConsoleEntry[] {
    return [...this.#recent];
  }

  find(id: string): ConsoleEntry | undefined {
    return this.#recent.find((e) => e.id === id);
  }

  get subscribers(): number {
    return this.#subs.size;
  }

  subscribe(fn: (m: ConsoleMessage) => void): () => void {
    this.#subs.add(fn);
    return () => this.#subs.delete(fn);
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#subs.clear();
  }
}

/**
 * An audit log that also hands every event it writes to `tap` (the console hub, the alerter).
 * A throwing tap never stops the write: the audit line is the record, the console a view of it.
 * @example const audit = tapAudit(createAuditLog({ sink: 'stdout' }), (ev) => hub.ingest(ev));
 */
export function tapAudit(log: AuditLog, tap: (ev: AuditEvent) => void): AuditLog {
  const safe = (ev: AuditEvent): AuditEvent => {
    try {
      tap(ev);
    } catch {
      // A view of the audit stream must not break the stream; the line is already written.
    }
    return ev;
  };
  return {
    record: (i) => safe(log.record(i)),
    recordPolicyReload: (i) => safe(log.recordPolicyReload(i)),
    recordHttpRequest: (i) => safe(log.recordHttpRequest(i)),
    recordConnectionClose: (i) => safe(log.recordConnectionClose(i)),
    write: (ev) => {
      log.write(ev);
      safe(ev);
    },
    flush: () => log.flush(),
    reopen: () => log.reopen(),
    close: () => log.close(),
  };
}
