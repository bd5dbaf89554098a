/**
 * Header filtering for forwarded HTTP (pure). Names are compared in canonical form (lower case,
 * `_` mapped to `-`) because CGI, WSGI, PHP-FPM and Rack fold both into `HTTP_X_RATLS_IDENTITY`:
 * a client's `x_ratls_identity` would otherwise reach such a backend as the gateway's header.
 */
import type { PeerFacts } from '../forward/facts.js';

export const RATLS_HEADER_PREFIX = 'x-ratls-';

export type HeaderMap = Record<string, string | string[]>;

/**
 * The canonical form used for every comparison.
 * @example canonicalHeaderName('X_Ratls_Identity') // 'x-ratls-identity'
 */
export function canonicalHeaderName(name: string): string {
  return name.toLowerCase().replaceAll('_', '-');
}

/** Hop-by-hop (RFC 9110 §7.6.1) and connection-scoped fields; never forwarded either way. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  // Answered by the gateway itself (it sends 100 Continue); the backend sees a plain request.
  'expect',
]);

/** Set by the gateway from the body it actually forwards (RFC 9112 §6): never the client's. */
const FRAMING = new Set(['content-length', 'transfer-encoding']);

/** What the client claims about forwarding is replaced, not extended: the gateway is the edge. */
function isForwarding(c: string): boolean {
  return c === 'forwarded' || c === 'x-real-ip' || c.startsWith('x-forwarded-');
}

/** Client headers the gateway needs and no `Connection` token may remove. */
const PROTECTED = new Set(['host']);

function connectionTokens(raw: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (canonicalHeaderName(raw[i] as string) === 'connection') {
      for (const t of (raw[i + 1] as string).split(',')) out.add(canonicalHeaderName(t.trim()));
    }
  }
  return out;
}

function add(h: HeaderMap, name: string, value: string): void {
  const prev = h[name];
  if (prev === undefined) h[name] = value;
  else if (name === 'cookie') h[name] = `${prev}; ${value}`;
  else h[name] = Array.isArray(prev) ? [...prev, value] : [prev, value];
}

/** Header values must be visible ASCII; anything else is percent-encoded. */
function headerSafe(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : encodeURIComponent(v);
}

export interface RequestHeaderOptions {
  /** Extra header names to remove (operator config); compared in canonical form. */
  strip?: readonly string[];
}

/**
 * The request headers sent to the backend: the client's, minus identity, forwarding, framing and
 * hop-by-hop fields in every spelling, plus the gateway's own. Framing is added by the forwarder.
 * @example forwardRequestHeaders(req.rawHeaders, facts, '10.0.0.7')['x-ratls-identity'] // 'payments'
 */
export function forwardRequestHeaders(
  rawHeaders: readonly string[],
  facts: PeerFacts,
  clientIp: string | undefined,
  opts: RequestHeaderOptions = {},
): HeaderMap {
  const strip = new Set((opts.strip ?? []).map(canonicalHeaderName));
  const drop = connectionTokens(rawHeaders);
  const out: HeaderMap = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const c = canonicalHeaderName(name);
    if (c.startsWith(RATLS_HEADER_PREFIX) || isForwarding(c) || HOP_BY_HOP.has(c) || FRAMING.has(c)) continue;
    if (strip.has(c) || (drop.has(c) && !PROTECTED.has(c))) continue;
    add(out, name, rawHeaders[i + 1] as string);
  }
  if (clientIp) out['x-forwarded-for'] = clientIp.replace(/^::ffff:/, '');
  out['x-forwarded-proto'] = 'https';
  out['x-ratls-identity'] = headerSafe(facts.identity);
  out['x-ratls-tee'] = facts.tee;
  out['x-ratls-measurement'] = facts.measurement;
  if (facts.tcbStatus) out['x-ratls-tcb-status'] = facts.tcbStatus;
  return out;
}

/**
 * The backend's response headers minus hop-by-hop ones (the gateway frames its own response).
 * @example forwardResponseHeaders(['Connection', 'close', 'Content-Type', 'text/plain']) // { 'content-type': 'text/plain' }
 */
export function forwardResponseHeaders(rawHeaders: readonly string[]): HeaderMap {
  const drop = connectionTokens(rawHeaders);
  const out: HeaderMap = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const c = canonicalHeaderName(name);
    if (HOP_BY_HOP.has(c) || drop.has(c)) continue;
    add(out, name, rawHeaders[i + 1] as string);
  }
  return out;
}
