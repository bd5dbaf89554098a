/**
 * Forwards one HTTP/1.1 request from an accepted, attested connection to the backend, framed by
 * the gateway. The backend receives exactly one request per client request: its method, a path
 * the gateway normalized (normalize-target.ts), the client's headers minus every spelling of the
 * identity, forwarding, framing and hop-by-hop fields (headers.ts), the gateway's identity
 * headers, and a body whose framing the gateway chose — `content-length` for a body read fully
 * within BUFFER_BYTES, else streamed: with the exact `content-length` the client declared (and
 * undici enforces), or chunked when the client sent chunks.
 *
 * The client side is undici's `Pool`, not `http.request`: undici writes the framing from the body
 * it is given (a Buffer gets its length, a stream its declared length or chunked, no body none,
 * whatever the method), refuses a body that disagrees with a declared length
 * (RequestContentLengthMismatchError), rejects client-supplied `transfer-encoding`, `connection`,
 * `upgrade` and duplicate `host` headers outright, and does not pipeline unless asked. The
 * reviewer's smuggling came from `http.request` sending an unframed GET body raw on a pooled
 * connection; undici has no such mode.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { attestationOf, clientAddressOf, type HttpRequestAuditInput } from '@ratls/verifier';
import { type Dispatcher, Pool } from 'undici';
import type { HttpForwardTarget } from '../config/config.js';
import { backendTlsOptions, isCertificateError } from '../forward/backend-tls.js';
import { type PeerFacts, peerFacts } from '../forward/facts.js';
import { decideFraming } from './framing.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './headers.js';
import { basePathOf, normalizeTarget } from './normalize-target.js';
import { type HttpRefusal, refusal } from './refusal.js';

/** A body that has fully arrived within this many bytes is forwarded with its content-length. */
export const BUFFER_BYTES = 64 * 1024;
/** Header fields per request (Node's maxHeaderSize bounds their bytes, 16 KiB by default). */
export const MAX_HEADERS = 100;

export interface HttpForwarder {
  /** Handles one parsed request; `expectContinue` when it came through Node's 'checkContinue'. */
  handle(req: http.IncomingMessage, res: http.ServerResponse, expectContinue?: boolean): void;
  /** Answers a request the server refused before `handle` (parser error, CONNECT, Upgrade). */
  refuseRaw(socket: TLSSocket, r: HttpRefusal, req?: http.IncomingMessage): void;
  /** Records one request event for a request handled outside `handle` (a WebSocket upgrade). */
  record(socket: TLSSocket, input: HttpRequestAuditInput): void;
  close(): void;
}

export interface HttpForwarderOptions {
  listener: string;
  target: () => HttpForwardTarget | undefined;
  /** Receives one input per request, forwarded or refused. */
  audit: (input: HttpRequestAuditInput) => void;
  clock: () => number;
  onBackendError: (e: Error) => void;
  /** Backend wait for response headers and between body chunks. */
  backendTimeoutMs: number;
}

class BodyTooLarge extends Error {}

/** The real client (behind a balancer: the address its PROXY v2 header declared). */
function peerOf(s: TLSSocket): { ip?: string; port?: number } {
  return clientAddressOf(s);
}

/** A backend's certificate failed verification (undici reports the TLS error itself or as its cause). */
export function isBackendTlsFailure(e: unknown): boolean {
  const x = e as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return isCertificateError(x) || isCertificateError(x?.cause);
}

function refusalBody(r: HttpRefusal): string {
  return JSON.stringify({
    error: (http.STATUS_CODES[r.status] ?? 'error').toLowerCase(),
    reason: r.reason,
    code: r.code,
  });
}

function rawHeaderList(h: Record<string, string | string[] | undefined>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push(k, x);
  }
  return out;
}

/**
 * @example
 * const f = httpForwarder({ listener: 'api', target: () => cfg.forward, audit: (i) => log.recordHttpRequest(i), clock: Date.now, onBackendError: console.warn, backendTimeoutMs: 300_000 });
 * httpServer.on('request', (req, res) => f.handle(req, res));
 */
export function httpForwarder(o: HttpForwarderOptions): HttpForwarder {
  const pools = new Map<string, Pool>();
  const poolFor = (target: HttpForwardTarget): Pool => {
    const url = target.url;
    // One pool per origin and TLS configuration: a reload that changes the CA gets fresh connections.
    const key = `${url.origin} ${JSON.stringify(target.tls ?? null)}`;
    let p = pools.get(key);
    if (!p) {
      p = new Pool(url.origin, {
        connections: 256,
        pipelining: 1,
        headersTimeout: o.backendTimeoutMs,
        bodyTimeout: o.backendTimeoutMs,
        ...(url.protocol === 'https:' && target.tls ? { connect: backendTlsOptions(target.tls) } : {}),
      });
      pools.set(key, p);
    }
    return p;
  };

  // Sockets already answered with a refusal: Node's parser may still report an error for the
  // bytes behind it (llhttp emits the request, then fails on its body); one event per request.
  const refused = new WeakSet<object>();

  const record = (socket: TLSSocket, facts: PeerFacts | undefined, input: HttpRequestAuditInput) =>
    o.audit({
      listener: o.listener,
      peer: peerOf(socket),
      ...(facts ? { identity: facts.identity } : {}),
      at: new Date(o.clock()),
      ...input,
    });

  const refuse = (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    facts: PeerFacts | undefined,
    r: HttpRefusal,
    requestBytes = 0,
  ): void => {
    refused.add(req.socket);
    record(req.socket as TLSSocket, facts, {
      method: req.method ?? '',
      target: req.url ?? '',
      status: r.status,
      requestBytes,
      refusal: { reason: r.reason, code: r.code, message: r.detail },
    });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = refusalBody(r);
    // The rest of the stream cannot be trusted to be framed as the gateway thinks: close it.
    res.shouldKeepAlive = false;
    res.writeHead(r.status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      connection: 'close',
    });
    res.end(body);
  };

  async function forward(req: http.IncomingMessage, res: http.ServerResponse, expectContinue: boolean) {
    const socket = req.socket as TLSSocket;
    // The connection was already refused (this request was queued behind it): it is not answered.
    if (refused.has(socket)) {
      res.destroy();
      return;
    }
    const facts = peerFacts(attestationOf(socket));
    // Only accepted sockets reach here; anything without an accepted decision is refused anyway.
    if (!facts) return refuse(req, res, undefined, refusal('not_attested', 'no accepted attestation'));
    const target = o.target();
    if (!target) return refuse(req, res, facts, refusal('bad_gateway', 'listener has no HTTP target'));
    const framing = decideFraming({
      method: req.method ?? '',
      httpVersion: req.httpVersion,
      rawHeaders: req.rawHeaders,
      maxBodyBytes: target.maxBodyBytes,
      maxHeaders: MAX_HEADERS,
    });
    if (!framing.ok) return refuse(req, res, facts, framing.refusal);
    const nt = normalizeTarget(req.url ?? '', basePathOf(target.url), { allowAbsoluteForm: target.allowAbsoluteForm });
    if (!nt.ok) return refuse(req, res, facts, nt.refusal);
    const headers = forwardRequestHeaders(req.rawHeaders, facts, peerOf(socket).ip, {
      strip: target.stripHeaders,
    });
    // RFC 9110 §10.1.1: 100 Continue only once the request is known to be acceptable.
    if (expectContinue) res.writeContinue();

    let requestBytes = 0;
    let tooLarge = false;
    let body: Buffer | Readable | undefined;
    if (framing.body.kind !== 'none') {
      const max = target.maxBodyBytes;
      const it = req[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const head: Buffer[] = [];
      let ended = false;
      const take = async (): Promise<Buffer | undefined> => {
        const r = await it.next();
        if (r.done) return undefined;
        requestBytes += r.value.length;
        if (requestBytes > max) {
          tooLarge = true;
          throw new BodyTooLarge(`body above ${max} bytes`);
        }
        return r.value;
      };
      try {
        while (requestBytes <= BUFFER_BYTES) {
          const c = await take();
          if (!c) {
            ended = true;
            break;
          }
          head.push(c);
        }
      } catch (e) {
        if (e instanceof BodyTooLarge)
          return refuse(req, res, facts, refusal('body_too_large', e.message), requestBytes);
        return refuse(req, res, facts, refusal('incomplete_body', 'client body ended early'), requestBytes);
      }
      if (ended) body = Buffer.concat(head);
      else {
        if (framing.body.kind === 'length') headers['content-length'] = String(framing.body.length);
        body = Readable.from(
          (async function* () {
            yield* head;
            for (;;) {
              const c = await take();
              if (!c) return;
              yield c;
            }
          })(),
          { objectMode: false },
        );
      }
    }

    const ac = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) ac.abort();
    };
    res.on('close', onClose);
    let response: Dispatcher.ResponseData;
    try {
      response = await poolFor(target).request({
        method: req.method as string,
        path: `${nt.path}${nt.query}`,
        headers,
        body: body ?? null,
        signal: ac.signal,
      });
    } catch (e) {
      if (tooLarge) return refuse(req, res, facts, refusal('body_too_large', 'body too large'), requestBytes);
      if (ac.signal.aborted || req.destroyed) {
        return record(socket, facts, {
          method: req.method ?? '',
          target: req.url ?? '',
          requestBytes,
          refusal: { reason: 'client_closed', code: 'ERR_HTTP_CLIENT_CLOSED', message: 'client closed the connection' },
        });
      }
      o.onBackendError(e as Error);
      // A backend whose certificate does not verify is never spoken to: 502, audited as such.
      if (isBackendTlsFailure(e))
        return refuse(req, res, facts, refusal('backend_tls', `backend TLS: ${(e as Error).message}`), requestBytes);
      // Details stay in the gateway's log; the client learns only that the backend failed.
      return refuse(req, res, facts, refusal('bad_gateway', `backend: ${(e as Error).message}`), requestBytes);
    }

    let responseBytes = 0;
    const done = (failed?: string) => {
      res.off('close', onClose);
      record(socket, facts, {
        method: req.method ?? '',
        target: req.url ?? '',
        forwardedPath: nt.path,
        forwardedQuery: nt.query,
        status: response.statusCode,
        requestBytes,
        responseBytes,
        ...(failed
          ? { refusal: { reason: 'response_incomplete', code: 'ERR_HTTP_RESPONSE_INCOMPLETE', message: failed } }
          : {}),
      });
    };
    res.writeHead(response.statusCode, forwardResponseHeaders(rawHeaderList(response.headers)));
    const rbody = response.body;
    await new Promise<void>((resolve) => {
      rbody.on('data', (c: Buffer) => {
        responseBytes += c.length;
        if (!res.write(c)) rbody.pause();
      });
      res.on('drain', () => rbody.resume());
      rbody.on('end', () => {
        res.end();
        done();
        resolve();
      });
      rbody.on('error', (e) => {
        res.destroy();
        done(e.message);
        resolve();
      });
    });
  }

  // Pipelined requests on one connection are forwarded one after another, in order: the backend
  // sees them in the order the client sent them, never a POST overtaken by the GET behind it.
  const queues = new WeakMap<object, Promise<void>>();

  return {
    handle(req, res, expectContinue = false) {
      const next = (queues.get(req.socket) ?? Promise.resolve())
        .then(() => forward(req, res, expectContinue))
        .catch((e: unknown) => {
          o.onBackendError(e as Error);
          res.destroy();
        });
      queues.set(req.socket, next);
    },
    refuseRaw(socket, r, req) {
      if (refused.has(socket)) {
        socket.destroy();
        return;
      }
      refused.add(socket);
      const facts = peerFacts(attestationOf(socket));
      record(socket, facts, {
        ...(req ? { method: req.method ?? '', target: req.url ?? '' } : {}),
        status: r.status,
        refusal: { reason: r.reason, code: r.code, message: r.detail },
      });
      if (socket.writable) {
        const body = refusalBody(r);
        socket.end(
          `HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? 'Error'}\r\ncontent-type: application/json\r\n` +
            `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
        );
      }
      socket.destroySoon();
    },
    record(socket, input) {
      record(socket, peerFacts(attestationOf(socket)), input);
    },
    close() {
      for (const p of pools.values()) void p.destroy();
      pools.clear();
    },
  };
}
