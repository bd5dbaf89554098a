/**
 * Small statistics shared by the benchmarks: medians, the spread of per-round medians, and the
 * options every suite takes. These machines are shared and noisy, so each suite interleaves its
 * peers round by round and reports the median with the range of round medians beside it.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Options `bench/run.ts` passes to every suite. */
export interface BenchOptions {
  /** A short run (fewer rounds and samples) for a quick look; the figures are noisier. */
  quick: boolean;
  /**
   * Gateway worker counts to measure, each against HAProxy with `nbthread` equal to it
   * (default 1 and 2: the scaling the 4- and 16-core projection in docs/performance.md reads).
   */
  workers: number[];
  /** With `--profile DIR`: every gateway process writes a V8 CPU profile (`--cpu-prof`) there. */
  profileDir?: string;
}

export const defaultOptions: BenchOptions = { quick: false, workers: [1, 2] };

/** Options that take a value (`bench/run.ts` skips their values when it reads suite names). */
export const VALUE_OPTIONS = ['--workers', '--profile'] as const;

/** Reads `--quick`, `--workers 1,2` (or one count) and `--profile DIR` from argv. */
export function optionsFromArgv(argv: readonly string[]): BenchOptions {
  const i = argv.indexOf('--workers');
  const workers =
    i >= 0
      ? String(argv[i + 1])
          .split(',')
          .map(Number)
      : defaultOptions.workers;
  if (workers.length === 0 || workers.some((w) => !Number.isInteger(w) || w < 1 || w > 64)) {
    throw new Error('--workers takes positive integers, e.g. --workers 1,2');
  }
  const p = argv.indexOf('--profile');
  const profileDir = p >= 0 ? argv[p + 1] : undefined;
  if (p >= 0 && !profileDir) throw new Error('--profile takes a directory');
  return { quick: argv.includes('--quick'), workers: [...new Set(workers)], ...(profileDir ? { profileDir } : {}) };
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}

/** Collects one number per round per series; prints median and [min–max] of the rounds. */
export class Rounds<K extends string> {
  readonly #data = new Map<K, number[]>();
  add(k: K, v: number): void {
    const a = this.#data.get(k) ?? [];
    a.push(v);
    this.#data.set(k, a);
  }
  values(k: K): number[] {
    return this.#data.get(k) ?? [];
  }
  median(k: K): number {
    return median(this.values(k));
  }
  /** Median of the per-round ratios a/b: pairs each round with itself, so drift cancels. */
  ratio(a: K, b: K): { median: number; min: number; max: number } {
    const xs = this.values(a);
    const ys = this.values(b);
    const r = xs.map((x, i) => x / (ys[i] as number));
    return { median: median(r), min: Math.min(...r), max: Math.max(...r) };
  }
  spread(k: K, digits = 2): string {
    const xs = this.values(k);
    return `[${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}]`;
  }
}

export const fmtMs = (ms: number): string => (ms < 1 ? ms.toFixed(3) : ms.toFixed(2));

/** A ratio with its round-to-round range, e.g. `1.32x [1.21–1.40]`. */
export function fmtRatio(r: { median: number; min: number; max: number }, digits = 2): string {
  return `${r.median.toFixed(digits)}x [${r.min.toFixed(digits)}–${r.max.toFixed(digits)}]`;
}

/** CPU milliseconds (user + system, all threads) this process used since `since`. */
export function cpuMsSince(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
}

/** The pids whose parent is `pid` (Linux /proc; none elsewhere): a cluster primary's workers. */
export function childPids(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // Field 4 (ppid); after the ") " split it is at index 1.
      const f = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      if (Number(f[1]) === pid) out.push(Number(e));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** User + system CPU seconds of `pids` together (a cluster: the primary and its workers). */
export function cpuSecondsOfAll(pids: readonly number[]): number {
  return pids.reduce((s, p) => s + cpuSecondsOf(p), 0);
}

/** User + system CPU seconds a process has used so far (Linux /proc; 0 elsewhere). */
export function cpuSecondsOf(pid: number | undefined): number {
  try {
    // Fields 14 and 15 (utime, stime) in clock ticks; after the ") " split they are at 11 and 12.
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
