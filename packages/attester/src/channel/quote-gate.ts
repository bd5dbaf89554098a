/**
 * Quote generation behind an open challenge endpoint is a denial-of-service lever: real hardware
 * takes milliseconds (SGX) to tens of milliseconds (TDX, ~39 ms per quote on a cloud VM) and the
 * quoting path is serialized by the platform anyway. So quotes are made one at a time, the queue
 * is bounded, and each source has a token bucket.
 */
import { RatlsError } from '@ratls/evidence';

export interface QuoteGateOptions {
  /** Quotes waiting at once (default 32); more are refused. */
  maxQueue?: number;
  /** Burst of quotes one source may ask for (default 8). */
  perSourceBurst?: number;
  /** Sustained quotes per second per source (default 4). */
  perSourcePerSecond?: number;
  /** Monotonic clock in milliseconds (default performance.now). */
  now?: () => number;
  /** Most sources tracked at once (default 4096); the least recently seen are forgotten first. */
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** Serializes quote generation and rate-limits it per source. */
export class QuoteGate {
  private readonly maxQueue: number;
  private readonly burst: number;
  private readonly rate: number;
  private readonly now: () => number;
  private readonly maxSources: number;
  private readonly buckets = new Map<string, Bucket>();
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;

  constructor(o: QuoteGateOptions = {}) {
    this.maxQueue = o.maxQueue ?? 32;
    this.burst = o.perSourceBurst ?? 8;
    this.rate = o.perSourcePerSecond ?? 4;
    this.now = o.now ?? (() => performance.now());
    this.maxSources = o.maxSources ?? 4096;
  }

  /** Quotes waiting or running now. */
  get pending(): number {
    return this.queued;
  }

  /**
   * Runs `make` after every earlier quote finished, if `source` has a token and the queue has room.
   * @example const ev = await gate.run('10.0.0.7', () => provider.getEvidence(reportData))
   */
  run<T>(source: string, make: () => Promise<T>): Promise<T> {
    if (this.queued >= this.maxQueue) {
      return Promise.reject(
        new RatlsError('ERR_CHANNEL_QUOTE_RATE_LIMITED', 'channel', `${this.maxQueue} quotes already queued`),
      );
    }
    if (!this.take(source)) {
      return Promise.reject(
        new RatlsError(
          'ERR_CHANNEL_QUOTE_RATE_LIMITED',
          'channel',
          `source ${source.slice(0, 64)} asked for more than ${this.burst} quotes at ${this.rate}/s`,
        ),
      );
    }
    this.queued++;
    const p = this.tail.then(make);
    const done = () => {
      this.queued--;
    };
    this.tail = p.then(done, done);
    return p;
  }

  private take(source: string): boolean {
    const t = this.now();
    const b = this.buckets.get(source) ?? { tokens: this.burst, at: t };
    this.buckets.delete(source);
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.buckets.set(source, b);
    if (this.buckets.size > this.maxSources) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return ok;
  }
}
