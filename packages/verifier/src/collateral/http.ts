/** One bounded HTTP GET: a timeout over the whole exchange, a body size cap, a status check. */
import { CollateralError } from '@ratls/evidence';

/**
 * A collateral server asked us to slow down. `retryAfterMs` is what it said (Retry-After), if anything.
 * @example if (e instanceof RateLimitedError) backOff(e.retryAfterMs ?? 60_000)
 */
export class RateLimitedError extends CollateralError {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs: number | undefined) {
    super('ERR_COLLATERAL_RATE_LIMITED', 'collateral', message);
    this.retryAfterMs = retryAfterMs;
  }
}

/** Longest Retry-After honoured (a day): a hostile or broken server cannot park us for a year. */
const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * Retry-After as milliseconds from `now` (delay-seconds or HTTP-date), bounded to one day.
 * @example parseRetryAfter('10', Date.now()) // 10000
 */
export function parseRetryAfter(v: string | null, now: number): number | undefined {
  if (v === null) return undefined;
  const t = v.trim();
  let ms: number;
  if (/^\d{1,9}$/.test(t)) ms = Number(t) * 1000;
  else {
    const d = Date.parse(t);
    if (!Number.isFinite(d)) return undefined;
    ms = d - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

export interface BoundedGetOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  maxBodyBytes: number;
  signal?: AbortSignal;
}

export interface BoundedResponse {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

async function readCapped(res: Response, what: string, max: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new CollateralError(
      'ERR_COLLATERAL_TOO_LARGE',
      'collateral',
      `${what}: Content-Length ${declared} exceeds ${max} bytes`,
    );
  }
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => {});
      throw new CollateralError('ERR_COLLATERAL_TOO_LARGE', 'collateral', `${what}: body exceeds ${max} bytes`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}

/**
 * GET `url`; any failure is a `CollateralError`: `ERR_COLLATERAL_TIMEOUT`, `ERR_COLLATERAL_ABORTED`,
 * `ERR_COLLATERAL_UNREACHABLE`, `ERR_COLLATERAL_TOO_LARGE`, `ERR_COLLATERAL_HTTP` (non-2xx; 404 is
 * `ERR_COLLATERAL_NOT_FOUND`; 429, or 503 with Retry-After, is `RateLimitedError`).
 * @example const r = await boundedGet(url, 'TCB info', { fetch, timeoutMs: 5000, maxBodyBytes: 1 << 20 })
 */
export async function boundedGet(url: string, what: string, o: BoundedGetOptions): Promise<BoundedResponse> {
  const ctl = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ctl.abort();
  }, o.timeoutMs);
  const onAbort = () => ctl.abort();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (o.signal?.aborted) ctl.abort();
    let res: Response;
    try {
      res = await o.fetch(url, { signal: ctl.signal, redirect: 'error', headers: { accept: '*/*' } });
    } catch (e) {
      throw classify(e, what, url, o, timedOut);
    }
    if (res.status === 429 || (res.status === 503 && res.headers.has('retry-after'))) {
      await res.body?.cancel().catch(() => {});
      // RFC 9110 §10.2.3: Retry-After is delay-seconds or an HTTP-date; absent or unreadable → undefined.
      throw new RateLimitedError(
        `${what}: HTTP ${res.status} (rate limited) from ${url}`,
        parseRetryAfter(res.headers.get('retry-after'), Date.now()),
      );
    }
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => {});
      throw new CollateralError(
        res.status === 404 ? 'ERR_COLLATERAL_NOT_FOUND' : 'ERR_COLLATERAL_HTTP',
        'collateral',
        `${what}: HTTP ${res.status} from ${url}`,
      );
    }
    let body: Uint8Array;
    try {
      body = await readCapped(res, what, o.maxBodyBytes);
    } catch (e) {
      if (e instanceof CollateralError) throw e;
      throw classify(e, what, url, o, timedOut);
    }
    return { status: res.status, headers: res.headers, body };
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener('abort', onAbort);
  }
}

function classify(e: unknown, what: string, url: string, o: BoundedGetOptions, timedOut: boolean): CollateralError {
  if (timedOut)
    return new CollateralError(
      'ERR_COLLATERAL_TIMEOUT',
      'collateral',
      `${what}: no complete answer from ${url} within ${o.timeoutMs} ms`,
      { cause: e },
    );
  if (o.signal?.aborted)
    return new CollateralError('ERR_COLLATERAL_ABORTED', 'collateral', `${what}: request to ${url} aborted by caller`, {
      cause: e,
    });
  const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
  return new CollateralError('ERR_COLLATERAL_UNREACHABLE', 'collateral', `${what}: cannot fetch ${url}${cause}`, {
    cause: e,
  });
}
