/**
 * Attested HTTPS. The HTTP parser of an `https.Server` is itself a `secureConnection` listener,
 * so holding that event until the decision means no request byte is parsed from an unaccepted
 * client; every request then carries its connection's `req.attestation`.
 */
import type http from 'node:http';
import https from 'node:https';
import { resolveAppraiser } from '../decide/peer-verifier.js';
import type { Attestation } from '../decide/types.js';
import {
  type AttestationOptions,
  attachAttestation,
  attestationOf,
  attestedServerTlsOptions,
  limitsOf,
} from './server.js';

export type AttestedRequest = http.IncomingMessage & { attestation: Attestation };
export type AttestedHttpsServerOptions = https.ServerOptions & { attestation: AttestationOptions };

/**
 * Like `https.createServer`, with every client attested before its first request is read.
 * @example
 * createHttpsServer({ key, cert, attestation: { verifier } }, (req, res) => {
 *   res.end(`hello ${(req as AttestedRequest).attestation.identity}`);
 * }).listen(0, '127.0.0.1');
 */
export function createHttpsServer(
  options: AttestedHttpsServerOptions,
  requestListener?: (req: AttestedRequest, res: http.ServerResponse) => void,
): https.Server {
  const { attestation, ...httpsOptions } = options;
  const limits = limitsOf(attestation);
  const server = https.createServer(attestedServerTlsOptions(httpsOptions, limits));
  attachAttestation(server, resolveAppraiser(attestation), limits);
  if (requestListener)
    server.on('request', requestListener as (req: http.IncomingMessage, res: http.ServerResponse) => void);
  return server;
}

interface MiddlewareRequest {
  attestation?: Attestation;
  socket?: unknown;
  raw?: { socket?: unknown };
}
interface MiddlewareResponse {
  statusCode?: number;
  end?: (body?: string) => unknown;
  code?: (status: number) => { send: (body?: unknown) => unknown };
  setHeader?: (name: string, value: string) => unknown;
}

export interface AttestationMiddlewareOptions {
  /** Only these policy identities may pass (default: any accepted peer). */
  identities?: string[];
}

/**
 * `(req, res, next)` middleware (Express/Connect; Fastify's `onRequest` hook has the same shape)
 * that lets a request through only when its connection was accepted, optionally only for given
 * identities, and sets `req.attestation`. Answers 403 otherwise.
 * @example app.use(attestationMiddleware({ identities: ['payments'] }))
 */
export function attestationMiddleware(
  opts: AttestationMiddlewareOptions = {},
): (req: MiddlewareRequest, res: MiddlewareResponse, next: (err?: unknown) => void) => void {
  const allowed = opts.identities ? new Set(opts.identities) : undefined;
  return (req, res, next) => {
    const a = req.attestation ?? attestationOf(req.socket) ?? attestationOf(req.raw?.socket);
    const ok = a?.decision?.accept === true && (!allowed || (a.identity !== undefined && allowed.has(a.identity)));
    if (a && ok) {
      req.attestation = a;
      next();
      return;
    }
    const body = JSON.stringify({ error: 'attestation required', code: 'ERR_TLS_PEER_REJECTED' });
    if (typeof res.code === 'function') {
      res.code(403).send(body);
      return;
    }
    res.statusCode = 403;
    res.setHeader?.('content-type', 'application/json');
    res.end?.(body);
  };
}
