/**
 * WebSocket upgrades through the HTTP forwarder (RFC 6455 §4). Only `Upgrade: websocket` on a
 * bodiless HTTP/1.1 GET is relayed; every other protocol switch (`h2c`, TLS upgrade, several
 * tokens) stays refused, because the gateway would otherwise hand the backend a stream it no
 * longer frames. The handshake request is filtered exactly like a normal request (client
 * `x-ratls-*` and forwarding fields stripped, the gateway's identity headers set); after the
 * backend's 101 the bytes are relayed both ways on the accepted, attested socket only, so the
 * stream stays that identity's (and the listener's age and policy-change closes still apply).
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { attestationOf, clientAddressOf } from '@ratls/verifier';
import type { HttpForwardTarget } from '../config/config.js';
import { backendTlsOptions } from '../forward/backend-tls.js';
import { peerFacts } from '../forward/facts.js';
import { isBackendTlsFailure } from './forward.js';
import { decideFraming } from './framing.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import { basePathOf, normalizeTarget } from './normalize-target.js';
import { type HttpRefusal, refusal } from './refusal.js';

/** What the upgrade handler needs from the forwarder and the listener. */
export interface WebSocketDeps {
  target: () => HttpForwardTarget | undefined;
  refuse: (socket: TLSSocket, r: HttpRefusal, req: http.IncomingMessage) => void;
  recordUpgrade: (socket: TLSSocket, req: http.IncomingMessage, status: number, forwardedPath?: string) => void;
  /** Wait for the backend's answer to the handshake; also the idle bound on the upgraded stream (0: off). */
  backendTimeoutMs: number;
  idleTimeoutMs: number;
  onBackendError: (e: Error) => void;
}

/** Header fields in a WebSocket handshake request (the forwarder's bound for any request). */
const MAX_HANDSHAKE_HEADERS = 100;

/**
 * The reason an upgrade request is not a WebSocket handshake the gateway relays, or undefined.
 * Pure.
 * @example upgradeRefusal('GET', '1.1', ['Host', 'a', 'Upgrade', 'h2c', 'Connection', 'Upgrade'])?.reason // 'upgrade_unsupported'
 */
export function upgradeRefusal(
  method: string,
  httpVersion: string,
  rawHeaders: readonly string[],
): HttpRefusal | undefined {
  const upgrades: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if ((rawHeaders[i] as string).toLowerCase() === 'upgrade') upgrades.push((rawHeaders[i + 1] as string).trim());
  if (upgrades.length !== 1 || upgrades[0]?.toLowerCase() !== 'websocket')
    return refusal('upgrade_unsupported', `Upgrade ${upgrades.join(', ').slice(0, 32)}: only websocket is relayed`);
  // RFC 6455 §4.1: the opening handshake is an HTTP/1.1 GET.
  if (method !== 'GET' || httpVersion !== '1.1')
    return refusal('upgrade_unsupported', `WebSocket upgrade with ${method.slice(0, 16)} HTTP/${httpVersion}`);
  return undefined;
}

/**
 * Handles Node's 'upgrade' event for one accepted socket.
 * @example httpServer.on('upgrade', (req, socket, head) => relayWebSocket(req, socket, head, deps));
 */
export function relayWebSocket(req: http.IncomingMessage, socket: TLSSocket, head: Buffer, d: WebSocketDeps): void {
  const facts = peerFacts(attestationOf(socket));
  if (!facts) {
    d.refuse(socket, refusal('not_attested', 'no accepted attestation'), req);
    return;
  }
  const target = d.target();
  if (!target) {
    d.refuse(socket, refusal('bad_gateway', 'listener has no HTTP target'), req);
    return;
  }
  // Opt-in per listener: a backend that never expected a protocol switch is not handed one.
  if (!target.websocket) {
    d.refuse(socket, refusal('upgrade_unsupported', 'WebSocket is not enabled (forward.websocket: true)'), req);
    return;
  }
  const bad = upgradeRefusal(req.method ?? '', req.httpVersion, req.rawHeaders);
  if (bad) {
    d.refuse(socket, bad, req);
    return;
  }
  // The same framing rules as any request, minus the Upgrade field judged above; no body.
  const withoutUpgrade: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
    if ((req.rawHeaders[i] as string).toLowerCase() !== 'upgrade')
      withoutUpgrade.push(req.rawHeaders[i] as string, req.rawHeaders[i + 1] as string);
  const framing = decideFraming({
    method: req.method ?? '',
    httpVersion: req.httpVersion,
    rawHeaders: withoutUpgrade,
    maxBodyBytes: 0,
    maxHeaders: MAX_HANDSHAKE_HEADERS,
  });
  if (!framing.ok) {
    d.refuse(socket, framing.refusal, req);
    return;
  }
  if (framing.body.kind !== 'none' || framing.expectContinue) {
    d.refuse(socket, refusal('upgrade_unsupported', 'a WebSocket handshake carries no body'), req);
    return;
  }
  const nt = normalizeTarget(req.url ?? '', basePathOf(target.url), { allowAbsoluteForm: target.allowAbsoluteForm });
  if (!nt.ok) {
    d.refuse(socket, nt.refusal, req);
    return;
  }

  const headers = forwardRequestHeaders(req.rawHeaders, facts, clientAddressOf(socket).ip, {
    strip: target.stripHeaders,
  });
  headers.connection = 'Upgrade';
  headers.upgrade = 'websocket';
  const url = target.url;
  const https_ = url.protocol === 'https:';
  const opts: http.RequestOptions = {
    host: url.hostname,
    port: url.port || (https_ ? 443 : 80),
    method: 'GET',
    path: `${nt.path}${nt.query}`,
    headers,
    agent: false,
    timeout: d.backendTimeoutMs,
    ...(https_ && target.tls ? backendTlsOptions(target.tls) : {}),
  };
  const breq = (https_ ? https.request : http.request)(opts);
  let answered = false;
  const fail = (e: Error) => {
    if (answered) return;
    answered = true;
    d.onBackendError(e);
    d.refuse(
      socket,
      isBackendTlsFailure(e)
        ? refusal('backend_tls', `backend TLS: ${e.message}`)
        : refusal('bad_gateway', `backend: ${e.message}`),
      req,
    );
  };
  breq.on('error', fail);
  breq.on('timeout', () =>
    breq.destroy(new Error(`no answer to the WebSocket handshake within ${d.backendTimeoutMs} ms`)),
  );
  breq.on('response', (res) => {
    // The backend declined the upgrade: relay its answer and close (the stream was never switched).
    if (answered) return;
    answered = true;
    d.recordUpgrade(socket, req, res.statusCode ?? 502, nt.path);
    const h = forwardResponseHeaders(res.rawHeaders);
    socket.write(`HTTP/1.1 ${res.statusCode} ${http.STATUS_CODES[res.statusCode ?? 502] ?? ''}\r\n`);
    for (const [k, v] of Object.entries(h)) for (const x of Array.isArray(v) ? v : [v]) socket.write(`${k}: ${x}\r\n`);
    socket.write('connection: close\r\n\r\n');
    res.pipe(socket);
    res.on('end', () => socket.destroySoon());
  });
  breq.on('upgrade', (res, backend: Duplex, bhead: Buffer) => {
    if (answered || socket.destroyed) {
      backend.destroy();
      return;
    }
    answered = true;
    d.recordUpgrade(socket, req, 101, nt.path);
    // RFC 6455 §4.2.2: the 101 carries Upgrade, Connection and Sec-WebSocket-*; the rest is the backend's.
    let out = 'HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n';
    for (const [k, v] of Object.entries(forwardResponseHeaders(res.rawHeaders)))
      for (const x of Array.isArray(v) ? v : [v]) out += `${k}: ${x}\r\n`;
    socket.write(`${out}\r\n`);
    if (bhead.length > 0) socket.write(bhead);
    if (head.length > 0) backend.write(head);
    // The handshake's wait bound is not the stream's: an open WebSocket may be quiet for a while.
    (backend as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
    breq.removeAllListeners('timeout');
    if (d.idleTimeoutMs > 0) socket.setTimeout(d.idleTimeoutMs, () => socket.destroy());
    else socket.setTimeout(0);
    const closeBoth = () => {
      socket.destroy();
      backend.destroy();
    };
    backend.on('error', closeBoth);
    socket.on('error', closeBoth);
    backend.on('close', () => socket.destroy());
    socket.on('close', () => backend.destroy());
    socket.pipe(backend);
    backend.pipe(socket);
  });
  breq.end();
}
