/**
 * The HTTP/1.1 server in front of one HTTP-forwarding listener: Node's parser with strict
 * settings, every parser refusal, CONNECT, Upgrade and Expect answered by the gateway itself (and
 * audited as a request event), everything else handed to the forwarder.
 */
import http from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { HttpRequestAuditInput } from '@ratls/verifier';
import type { HttpForwardTarget } from '../config/config.js';
import { type HttpForwarder, httpForwarder, MAX_HEADERS } from './forward.js';
import { type HttpRefusal, refusal } from './refusal.js';
import { relayWebSocket } from './websocket.js';

/** Largest header section accepted (Node's default, stated so it cannot drift). */
export const MAX_HEADER_BYTES = 16 * 1024;

export interface HttpForwardServerOptions {
  listener: string;
  target: () => HttpForwardTarget | undefined;
  audit: (input: HttpRequestAuditInput) => void;
  clock: () => number;
  /** Keep-alive and idle bound on client connections (0: off). */
  idleTimeoutMs: number;
  /** Wait for the backend's response headers and between body chunks. */
  backendTimeoutMs: number;
  /** True once the gateway drains: responses then close their connections. */
  closing: () => boolean;
  onBackendError: (e: Error) => void;
  onIdleTimeout: (socket: TLSSocket) => void;
}

/**
 * Maps a Node parser error (llhttp `HPE_*`, Node `ERR_HTTP_*`) to the gateway's refusal.
 * @example parserRefusal({ code: 'HPE_UNEXPECTED_CONTENT_LENGTH' }).reason // 'duplicate_content_length'
 */
export function parserRefusal(e: { code?: string; reason?: string; message?: string }): HttpRefusal {
  const code = e.code ?? '';
  const why = `${code}: ${e.reason ?? e.message ?? ''}`.slice(0, 256);
  if (/can't be present with/i.test(e.reason ?? e.message ?? '')) return refusal('te_and_cl', why);
  switch (code) {
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return refusal('duplicate_content_length', why);
    case 'HPE_INVALID_CONTENT_LENGTH':
      return refusal('bad_content_length', why);
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return refusal('invalid_transfer_encoding', why);
    case 'HPE_HEADER_OVERFLOW':
      return refusal('headers_too_large', why);
    case 'HPE_INVALID_HEADER_TOKEN':
      return refusal('malformed_header', why);
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return refusal('request_timeout', why);
    default:
      return refusal('malformed_request', why);
  }
}

/**
 * @example
 * const { server, forwarder } = createHttpForwardServer({ listener: 'api', target, audit, clock: Date.now, idleTimeoutMs: 300_000, closing: () => false, onBackendError, onIdleTimeout });
 * server.emit('connection', acceptedTlsSocket);
 */
export function createHttpForwardServer(o: HttpForwardServerOptions): {
  server: http.Server;
  forwarder: HttpForwarder;
} {
  const forwarder = httpForwarder({
    listener: o.listener,
    target: o.target,
    audit: o.audit,
    clock: o.clock,
    onBackendError: o.onBackendError,
    backendTimeoutMs: o.backendTimeoutMs,
  });
  const server = http.createServer({
    keepAliveTimeout: o.idleTimeoutMs,
    maxHeaderSize: MAX_HEADER_BYTES,
    // Strict llhttp: no obs-fold, no bare LF, no TE/CL leniency (Node's default, stated here).
    insecureHTTPParser: false,
    requireHostHeader: true,
  });
  // One more than the limit so decideFraming sees (and refuses) an excess instead of Node
  // silently truncating the list.
  server.maxHeadersCount = MAX_HEADERS + 1;
  const handle = (expectContinue: boolean) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (o.closing()) res.shouldKeepAlive = false;
    forwarder.handle(req, res, expectContinue);
  };
  server.on('request', handle(false));
  // With this listener Node does not send 100 Continue itself: the forwarder sends it once the
  // request is accepted, or answers with the refusal instead.
  server.on('checkContinue', handle(true));
  // Any other Expect: the forwarder refuses it (417) and audits it, instead of Node's silent 417.
  server.on('checkExpectation', handle(false));
  server.on('connect', (req: http.IncomingMessage, socket: TLSSocket) =>
    forwarder.refuseRaw(socket, refusal('connect_unsupported', 'CONNECT is not proxied'), req),
  );
  // WebSocket only (websocket.ts); h2c and every other switch is refused there, audited.
  server.on('upgrade', (req: http.IncomingMessage, socket: TLSSocket, head: Buffer) =>
    relayWebSocket(req, socket, head, {
      target: o.target,
      refuse: (s, r, q) => forwarder.refuseRaw(s, r, q),
      recordUpgrade: (s, q, status, forwardedPath) =>
        forwarder.record(s, {
          method: q.method ?? '',
          target: q.url ?? '',
          status,
          requestBytes: 0,
          ...(forwardedPath ? { forwardedPath } : {}),
        }),
      backendTimeoutMs: o.backendTimeoutMs,
      idleTimeoutMs: o.idleTimeoutMs,
      onBackendError: o.onBackendError,
    }),
  );
  server.on('clientError', (e: Error & { code?: string; reason?: string }, socket: TLSSocket) => {
    // A reset or an error after a response started leaves nothing to answer.
    const inFlight = (socket as TLSSocket & { _httpMessage?: http.ServerResponse })._httpMessage;
    if (e.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    forwarder.refuseRaw(socket, parserRefusal(e));
  });
  server.timeout = o.idleTimeoutMs;
  server.on('timeout', (sock: TLSSocket) => {
    o.onIdleTimeout(sock);
    sock.destroy();
  });
  return { server, forwarder };
}
