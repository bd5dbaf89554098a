/**
 * An open-loop schedule for the soak (robustness/soak.ts and its flood process): `perSecond`
 * starts every second until `untilMs`, on schedule whether or not earlier attempts finished, so a
 * slow gateway shows as latency, not as a lower rate. At most `maxInFlight` run at once; starts
 * past that bound are skipped and counted, never queued.
 */

/** Attempts one open loop may have in flight at once, by default. */
export const MAX_OPEN_LOOP_IN_FLIGHT = 5000;

export interface OpenLoop {
  perSecond: number;
  /** `performance.now()` at which the schedule ends. */
  untilMs: number;
  /** Starts one attempt; its promise settles when the attempt is over. */
  start: () => Promise<void>;
  /** Where running attempts are kept: the caller awaits what is left when the run ends. */
  inFlight: Set<Promise<void>>;
  maxInFlight?: number;
  /** Checked before each tick: false ends the schedule early (e.g. an attempt budget). */
  more?: () => boolean;
}

/**
 * Runs the schedule; returns the number of starts skipped at the in-flight bound. Attempts still
 * running when it returns are in `inFlight`.
 * @example const skipped = await runOpenLoop({ perSecond: 100, untilMs: performance.now() + 10_000, start, inFlight })
 */
export async function runOpenLoop(o: OpenLoop): Promise<number> {
  const max = o.maxInFlight ?? MAX_OPEN_LOOP_IN_FLIGHT;
  const t0 = performance.now();
  let started = 0;
  let skipped = 0;
  while (performance.now() < o.untilMs && (o.more?.() ?? true)) {
    const due = Math.floor(((performance.now() - t0) / 1000) * o.perSecond);
    for (; started < due && o.inFlight.size < max; started++) {
      const p: Promise<void> = o.start().finally(() => o.inFlight.delete(p));
      o.inFlight.add(p);
    }
    if (started < due) skipped += due - started;
    started = Math.max(started, due);
    await new Promise((r) => setTimeout(r, 5));
  }
  return skipped;
}
