/**
 * HTTP/1.1 reverse proxying for one accepted, attested connection. The client's own `x-ratls-*`
 * headers are removed (any case, every copy) before the gateway's are added, so a backend can
 * trust them; hop-by-hop headers (RFC 9110 section 7.6.1) are not forwarded either way.
 */
import http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { attestationOf } from '@ratls/verifier';
import { type PeerFacts, peerFacts } from './facts.js';

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
  // Answered by this server already (Node sends 100 Continue); the backend sees a plain request.
  'expect',
]);

export const RATLS_HEADER_PREFIX = 'x-ratls-';

type HeaderMap = Record<string, string | string[]>;

function connectionTokens(raw: string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === 'connection') {
      for (const t of (raw[i + 1] as string).split(',')) out.add(t.trim().toLowerCase());
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

/**
 * The request headers sent to the backend.
 * @example forwardRequestHeaders(req.rawHeaders, facts, '10.0.0.7')['x-ratls-identity'] // 'payments'
 */
export function forwardRequestHeaders(rawHeaders: string[], facts: PeerFacts, clientIp: string | undefined): HeaderMap {
  const drop = connectionTokens(rawHeaders);
  const out: HeaderMap = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (name.startsWith(RATLS_HEADER_PREFIX) || HOP_BY_HOP.has(name) || drop.has(name)) continue;
    // The gateway is the edge: what the client claims about forwarding is replaced, not extended.
    if (name === 'x-forwarded-for' || name === 'x-forwarded-proto' || name === 'forwarded') continue;
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

/** The backend's response headers minus hop-by-hop ones. */
export function forwardResponseHeaders(rawHeaders: string[]): HeaderMap {
  const drop = connectionTokens(rawHeaders);
  const out: HeaderMap = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(name) || drop.has(name)) continue;
    add(out, name, rawHeaders[i + 1] as string);
  }
  return out;
}

function plain(res: http.ServerResponse, status: number, error: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export interface HttpForwarder {
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  close(): void;
}

/**
 * Forwards requests to `target` (an http:// base URL; its path is prefixed) over keep-alive.
 * @example const f = httpForwarder(() => new URL('http://127.0.0.1:8080'), log); httpServer.on('request', f.handle)
 */
export function httpForwarder(target: () => URL, onBackendError: (e: Error) => void): HttpForwarder {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, timeout: 60_000 });
  return {
    handle(req, res) {
      const facts = peerFacts(attestationOf(req.socket));
      // Only accepted sockets reach here; anything without an accepted decision is refused anyway.
      if (!facts) return plain(res, 403, 'forbidden');
      if (!req.url?.startsWith('/')) return plain(res, 400, 'bad request');
      const url = target();
      const base = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
      const out = http.request(
        {
          host: url.hostname.replace(/^\[|\]$/g, ''),
          port: url.port || 80,
          method: req.method,
          path: `${base}${req.url}`,
          headers: forwardRequestHeaders(req.rawHeaders, facts, (req.socket as TLSSocket).remoteAddress),
          agent,
        },
        (bres) => {
          res.writeHead(bres.statusCode ?? 502, forwardResponseHeaders(bres.rawHeaders));
          bres.pipe(res);
          bres.on('error', () => res.destroy());
        },
      );
      out.on('error', (e) => {
        onBackendError(e);
        // Details stay in the gateway's log; the client learns only that the backend failed.
        plain(res, 502, 'bad gateway');
      });
      res.on('close', () => {
        if (!res.writableFinished) out.destroy();
      });
      req.pipe(out);
    },
    close() {
      agent.destroy();
    },
  };
}
