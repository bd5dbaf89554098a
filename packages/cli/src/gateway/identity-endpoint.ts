/**
 * The identity endpoint of a listener named in `identity.listeners` (issue 15, docs/identities.md):
 * HTTP/1.1 over the attested, channel-bound TLS connection, parsed by Node's strict parser with
 * the same settings as the gateway's forwarding listeners. Only sockets whose decision accepted
 * reach here (the listener's TLS server decides first), and the issuing core refuses again any
 * decision not made under `freshness: channel`.
 *
 * - `POST /v1/identity/x509`, `application/pkcs10` (PEM or DER) → `application/pem-certificate-chain`
 * - `POST /v1/identity/ear`, `application/json` `{ "aud", "nonce"? }` → `application/jwt`
 * - `GET /.well-known/jwks.json` → the JWKS
 *
 * Refusals are 4xx with `{ "code": "ERR_IDENTITY_..." }` and nothing else: the detail goes to the
 * audit event (`identity.refused`), never to the peer. Each issuance is one `identity.issued`.
 */
import http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { x509 } from '@ratls/attester/x509';
import { type ErrorCode, RatlsError } from '@ratls/evidence';
import {
  type AuditEvent,
  type AuditLog,
  attestationOf,
  buildAuditEvent,
  clientAddressOf,
  type PeerDecision,
} from '@ratls/verifier';
import { decodeJwt } from 'jose';
import { issueCertificate } from '../identity/issue-certificate.js';
import { issueEar } from '../identity/issue-ear.js';
import { MAX_HEADER_BYTES, parserRefusal } from './http/server.js';
import type { IdentityService } from './identity-service.js';
import type { GatewayLog } from './log.js';

/** A CSR or a token request is a few hundred bytes (issue-certificate.ts bounds the CSR the same way). */
export const MAX_IDENTITY_BODY_BYTES = 16 * 1024;
/** A whole request (headers and body) must arrive within this. */
const REQUEST_TIMEOUT_MS = 10_000;
/** draft-ietf-rats-ear / RFC 9711 §4.1: an `eat_nonce` is 8-64 bytes; base64url without padding. */
const NONCE_RE = /^[A-Za-z0-9_-]{11,86}$/;

export const IDENTITY_PATHS = {
  x509: '/v1/identity/x509',
  ear: '/v1/identity/ear',
  jwks: '/.well-known/jwks.json',
} as const;

export interface IdentityEndpointOptions {
  listener: string;
  /** The service in force (read per request). */
  service: () => IdentityService;
  audit: AuditLog;
  log: GatewayLog;
  clock: () => number;
  /** Keep-alive bound between requests. */
  idleTimeoutMs: number;
}

/** The status each refusal code is answered with. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_IDENTITY_REQUEST_INVALID: 400,
  ERR_IDENTITY_CSR_INVALID: 400,
  ERR_IDENTITY_TOKEN_INVALID: 400,
  ERR_IDENTITY_KEY_MISMATCH: 403,
  ERR_IDENTITY_NOT_CHANNEL_BOUND: 403,
  ERR_IDENTITY_DECISION_INVALID: 403,
  ERR_IDENTITY_NAME_INVALID: 403,
};

class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: string, close = false): void {
  res.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...(close ? { connection: 'close' } : {}),
  });
  res.end(body);
}

/** The body, at most MAX_IDENTITY_BODY_BYTES; more is a 413 before it is all read. */
function readBody(req: http.IncomingMessage): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > MAX_IDENTITY_BODY_BYTES)
    return Promise.reject(new Refusal('ERR_IDENTITY_REQUEST_INVALID', 413, `body of ${declared} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
      if (n > MAX_IDENTITY_BODY_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        reject(new Refusal('ERR_IDENTITY_REQUEST_INVALID', 413, `body over ${MAX_IDENTITY_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.once('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.once('error', (e) => reject(new Refusal('ERR_IDENTITY_REQUEST_INVALID', 400, `body: ${e.message}`)));
  });
}

function mediaType(req: http.IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** PEM (`CERTIFICATE REQUEST`) or DER; PEM is recognised by its armour, never guessed otherwise. */
function csrDerOf(body: Uint8Array): Uint8Array {
  const text = Buffer.from(body).toString('latin1');
  if (!text.trimStart().startsWith('-----BEGIN')) return body;
  try {
    const blocks = x509.PemConverter.decodeWithHeaders(text);
    const only = blocks.length === 1 ? blocks[0] : undefined;
    if (!only || (only.type !== 'CERTIFICATE REQUEST' && only.type !== 'NEW CERTIFICATE REQUEST'))
      throw new Error('expected exactly one CERTIFICATE REQUEST block');
    return new Uint8Array(only.rawData);
  } catch (e) {
    throw new Refusal('ERR_IDENTITY_CSR_INVALID', 400, `CSR PEM: ${(e as Error).message}`);
  }
}

function earRequest(body: Uint8Array): { aud: string; nonce?: string } {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 400, 'body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 400, 'body is not a JSON object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (k !== 'aud' && k !== 'nonce')
      throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 400, `unknown member ${k.slice(0, 32)}`);
  if (typeof o.aud !== 'string' || o.aud.length === 0 || o.aud.length > 255)
    throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 400, 'aud must be a string of 1-255 characters');
  if (o.nonce !== undefined && (typeof o.nonce !== 'string' || !NONCE_RE.test(o.nonce)))
    throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 400, 'nonce must be base64url of 8-64 bytes');
  return { aud: o.aud, ...(typeof o.nonce === 'string' ? { nonce: o.nonce } : {}) };
}

/** The connection's final decision, as the issuing core takes it (it checks every part again). */
function decisionOf(sock: TLSSocket): { decision: PeerDecision; peerCertDer: Uint8Array } {
  const a = attestationOf(sock);
  const raw = sock.getPeerX509Certificate()?.raw;
  if (!a || !raw) throw new Refusal('ERR_IDENTITY_DECISION_INVALID', 403, 'no accepted attestation on this connection');
  return {
    decision: {
      accept: a.decision?.accept === true,
      ...(a.result ? { result: a.result } : {}),
      ...(a.decision ? { decision: a.decision } : {}),
      ...(a.certificate ? { certificate: a.certificate } : {}),
      ...(a.freshness ? { freshness: a.freshness } : {}),
    },
    peerCertDer: new Uint8Array(raw),
  };
}

/**
 * The HTTP server of one identity listener; the listener emits each accepted socket on it.
 * @example const server = createIdentityServer({ listener: 'identity', service: () => svc, audit, log, clock: Date.now, idleTimeoutMs: 60_000 }); server.emit('connection', acceptedTlsSocket)
 */
export function createIdentityServer(o: IdentityEndpointOptions): http.Server {
  const server = http.createServer({
    keepAliveTimeout: o.idleTimeoutMs,
    maxHeaderSize: MAX_HEADER_BYTES,
    // Strict llhttp, as on the forwarding listeners (http/server.ts).
    insecureHTTPParser: false,
    requireHostHeader: true,
    requestTimeout: REQUEST_TIMEOUT_MS,
    headersTimeout: REQUEST_TIMEOUT_MS,
  });
  server.maxHeadersCount = 64;

  const event = (
    sock: TLSSocket,
    kind: 'x509' | 'ear',
    outcome: { issued: NonNullable<AuditEvent['issued']> } | { error: { code: string; message: string } },
  ): void => {
    const a = attestationOf(sock);
    const fp = a?.certificate?.fingerprintSha256;
    const ok = 'issued' in outcome;
    const ev = buildAuditEvent({
      ...(a?.decision ? { decision: a.decision } : {}),
      ...(a?.result ? { result: a.result } : {}),
      ...(ok ? {} : { error: outcome.error }),
      peer: { ...clientAddressOf(sock), ...(fp ? { certSha256: fp } : {}), role: 'client' },
      listener: o.listener,
      ...(a?.freshness ? { freshness: a.freshness } : {}),
      action: ok ? 'identity.issued' : 'identity.refused',
      at: new Date(o.clock()),
    });
    // The trace belongs to the handshake's own event; this one records what was issued.
    delete ev.trace;
    ev.issued = ok ? outcome.issued : { kind };
    if (ok) {
      const i = outcome.issued;
      ev.message = `identity.issued ${kind} to ${a?.identity ?? '?'}: ${i.serial ? `serial ${i.serial}` : `jti ${i.jti}`}, ${i.ttl_seconds} s`;
    }
    o.audit.write(ev);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const sock = req.socket as TLSSocket;
    const path = req.url ?? '';
    const kind = path === IDENTITY_PATHS.ear ? 'ear' : 'x509';
    try {
      if (path === IDENTITY_PATHS.jwks) {
        if (req.method !== 'GET') throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 405, 'JWKS: GET only');
        const ring = o.service().ring;
        send(res, 200, 'application/jwk-set+json', JSON.stringify(ring ? ring.jwks(o.clock() / 1000) : { keys: [] }));
        return;
      }
      if (path !== IDENTITY_PATHS.x509 && path !== IDENTITY_PATHS.ear)
        throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 404, `no identity endpoint ${path.slice(0, 64)}`);
      if (req.method !== 'POST') throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 405, `${path}: POST only`);
      const want = kind === 'x509' ? 'application/pkcs10' : 'application/json';
      if (mediaType(req) !== want)
        throw new Refusal('ERR_IDENTITY_REQUEST_INVALID', 415, `${path}: content-type ${want} expected`);
      const body = await readBody(req);
      const svc = o.service();
      const { decision, peerCertDer } = decisionOf(sock);
      const identity = decision.decision?.accept ? decision.decision.identity : undefined;
      const own = identity !== undefined ? svc.config.identityMaxTtlSec[identity] : undefined;
      const at = o.clock();
      if (kind === 'x509') {
        const out = await issueCertificate(svc.ca, {
          csrDer: csrDerOf(body),
          peerCertDer,
          decision,
          at,
          ...(own !== undefined ? { identityMaxTtlSec: own } : {}),
        });
        event(sock, 'x509', {
          issued: {
            kind: 'x509',
            serial: out.serial,
            spiffe_id: out.spiffeId,
            ttl_seconds: out.notAfter - Math.floor(at / 1000),
            not_after: new Date(out.notAfter * 1000).toISOString(),
          },
        });
        send(res, 200, 'application/pem-certificate-chain', out.chainPem);
        return;
      }
      const ear = svc.config.ear;
      if (!ear || !svc.ring) throw new Refusal('ERR_IDENTITY_TOKEN_INVALID', 404, 'this gateway issues no EAR tokens');
      const ask = earRequest(body);
      if (!ear.audiences.includes(ask.aud))
        throw new Refusal('ERR_IDENTITY_TOKEN_INVALID', 403, `audience ${ask.aud.slice(0, 64)} is not configured`);
      const ttlSec = Math.min(own ?? svc.ca.defaultTtlSec, svc.ca.defaultTtlSec);
      const jwt = await issueEar(svc.ring, {
        decision,
        peerCertDer,
        audience: ask.aud,
        issuer: ear.issuer,
        at,
        ttlSec,
        ...(ask.nonce ? { nonce: ask.nonce } : {}),
      });
      const claims = decodeJwt(jwt);
      event(sock, 'ear', {
        issued: {
          kind: 'ear',
          ...(claims.jti ? { jti: claims.jti } : {}),
          audience: ask.aud,
          ttl_seconds: (claims.exp ?? 0) - (claims.iat ?? 0),
          not_after: new Date((claims.exp ?? 0) * 1000).toISOString(),
        },
      });
      send(res, 200, 'application/jwt', jwt);
    } catch (e) {
      let r: Refusal;
      const code = e instanceof RatlsError ? (e.code as ErrorCode) : undefined;
      const status = code !== undefined ? STATUS[code] : undefined;
      if (e instanceof Refusal) r = e;
      else if (code !== undefined && status !== undefined) r = new Refusal(code, status, (e as Error).message);
      else {
        o.log('error', 'identity issuance failed', { listener: o.listener, error: (e as Error).message });
        r = new Refusal('ERR_IDENTITY_INTERNAL', 500, 'issuance failed (see the operational log)');
      }
      event(sock, kind, { error: { code: r.code, message: r.detail } });
      // A refused body may not have been read: close rather than parse what follows it.
      send(res, r.status, 'application/json', JSON.stringify({ code: r.code }), r.status === 413);
    }
  };
  server.on('request', (req, res) => void handle(req, res));
  server.on('clientError', (e: Error & { code?: string }, socket: TLSSocket) => {
    if (e.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const why = parserRefusal(e);
    const body = JSON.stringify({ code: 'ERR_IDENTITY_REQUEST_INVALID' });
    socket.end(
      `HTTP/1.1 ${why.status} Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  server.timeout = o.idleTimeoutMs;
  server.on('timeout', (sock: TLSSocket) => sock.destroy());
  return server;
}
