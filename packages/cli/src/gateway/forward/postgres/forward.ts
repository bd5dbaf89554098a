/**
 * PostgreSQL forwarding for one accepted, attested connection: read the client's StartupMessage
 * (bounded in size and time), refuse it with an ErrorResponse the client prints (and an audit
 * event) unless it asks for the role mapped to the identity and nothing that would change who the
 * session is, send the rewritten one to the backend, relay the backend's start-up while recording
 * its BackendKeyData for cancels, then pipe both ways.
 */
import net from 'node:net';
import type { TLSSocket } from 'node:tls';
import { attestationOf } from '@ratls/verifier';
import { scanBackendStartup } from './backend-messages.js';
import type { CancelKeys, PostgresBackend } from './cancel-keys.js';
import { PG_ERRORS } from './errors.js';
import { errorResponse, SQLSTATE } from './protocol.js';
import { encodeStartup, parseStartupPacket, rewriteStartup, type StartupRefusal } from './startup.js';

const BACKEND_WRITE_BUFFER = 256 * 1024;
/** From hand-off to a complete StartupMessage (libpq sends it at once). */
export const DEFAULT_STARTUP_TIMEOUT_MS = 10_000;
/** An ErrorResponse gets this long to reach the client before the socket is cut. */
const REFUSAL_LINGER_MS = 2_000;

export interface PostgresForwardDeps {
  backend: PostgresBackend;
  /** Policy identity → PostgreSQL role. */
  roles: Readonly<Record<string, string>>;
  cancels: CancelKeys;
  startupTimeoutMs?: number;
  /** A refused startup or a cancel over TLS: audited by the caller. */
  onRefused: (r: { code: string; message: string }, identity: string) => void;
  onBackendError: (e: Error) => void;
}

/**
 * Speaks the start-up of one PostgreSQL session for `client`, then pipes it to the backend.
 * @example forwardPostgres(sock, { backend: { path: '/run/postgresql/.s.PGSQL.5432' }, roles: { payments: 'app' }, cancels, onRefused, onBackendError });
 */
export function forwardPostgres(client: TLSSocket, deps: PostgresForwardDeps): void {
  const identity = attestationOf(client)?.identity;
  if (identity === undefined) {
    client.destroy();
    return;
  }
  let buf: Buffer = Buffer.alloc(0);
  let over = false;
  const refuse = (r: StartupRefusal) => {
    if (over) return;
    over = true;
    cleanup();
    deps.onRefused({ code: r.code, message: r.message }, identity);
    client.end(errorResponse(r.sqlstate, r.message));
    setTimeout(() => client.destroy(), REFUSAL_LINGER_MS).unref();
  };
  const timer = setTimeout(
    () =>
      refuse({
        code: PG_ERRORS.STARTUP_TIMEOUT,
        sqlstate: SQLSTATE.PROTOCOL_VIOLATION,
        message: `ratls gateway: no startup packet within ${deps.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS} ms`,
      }),
    deps.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS,
  );
  const cleanup = () => {
    clearTimeout(timer);
    client.off('data', onData);
    client.pause();
  };
  const onData = (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    const p = parseStartupPacket(buf);
    if (p.kind === 'more') return;
    if (p.kind === 'refuse') return refuse(p.refusal);
    if (p.kind === 'cancel') {
      // A cancel over TLS (libpq 17's PQcancelCreate): only for a session of the same identity.
      over = true;
      cleanup();
      const relayed = deps.cancels.relay(p.key, identity);
      deps.onRefused(
        relayed
          ? { code: PG_ERRORS.CANCEL_RELAYED, message: `CancelRequest for backend ${p.key.pid} relayed` }
          : {
              code: PG_ERRORS.CANCEL_UNKNOWN,
              message: `CancelRequest for backend ${p.key.pid} matches no session of ${identity}`,
            },
        identity,
      );
      client.destroy();
      return;
    }
    const rewritten = rewriteStartup(p.params, identity, deps.roles);
    if (!rewritten.ok) return refuse(rewritten.refusal);
    over = true;
    cleanup();
    connectBackend(client, identity, encodeStartup(p.version, rewritten.params), buf.subarray(p.length), deps);
  };
  client.on('error', () => client.destroy());
  client.on('close', () => clearTimeout(timer));
  client.on('data', onData);
}

function connectBackend(
  client: TLSSocket,
  identity: string,
  startup: Uint8Array,
  rest: Buffer,
  deps: PostgresForwardDeps,
): void {
  const buffering = { writableHighWaterMark: BACKEND_WRITE_BUFFER };
  const backend =
    'path' in deps.backend
      ? net.connect({ path: deps.backend.path, ...buffering })
      : net.connect({ host: deps.backend.host, port: deps.backend.port, ...buffering });
  if (!('path' in deps.backend)) backend.setNoDelay(true);
  const forget: (() => void)[] = [];
  let started = false;
  backend.on('error', (e) => {
    deps.onBackendError(e);
    if (!started) {
      started = true;
      // Tell the client why, once, as an ErrorResponse (and audit it).
      client.resume();
      refuseLate(client, identity, deps, `ratls gateway: backend unavailable: ${e.message}`);
    } else client.destroy();
    backend.destroy();
  });
  client.on('close', () => {
    for (const f of forget) f();
    backend.destroy();
  });
  backend.write(startup);
  if (rest.length > 0) backend.write(rest);
  let pending: Buffer = Buffer.alloc(0);
  const onBackendData = (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const scan = scanBackendStartup(pending);
    if (scan.kind === 'malformed') {
      deps.onBackendError(new Error(scan.why));
      deps.onRefused({ code: PG_ERRORS.BACKEND, message: `malformed backend start-up: ${scan.why}` }, identity);
      backend.destroy();
      client.destroy();
      return;
    }
    for (const key of scan.keys) forget.push(deps.cancels.add(key, { identity, backend: deps.backend }));
    if (scan.kind === 'more') {
      if (scan.consumed > 0) client.write(pending.subarray(0, scan.consumed));
      pending = pending.subarray(scan.consumed);
      return;
    }
    started = true;
    backend.off('data', onBackendData);
    client.write(pending);
    pending = Buffer.alloc(0);
    backend.on('close', () => client.end());
    client.pipe(backend);
    backend.pipe(client);
  };
  backend.on('data', onBackendData);
  backend.on('close', () => {
    // Closed during start-up (an ErrorResponse from the backend, already passed on).
    if (!started) {
      if (pending.length > 0) client.write(pending);
      client.end();
    }
  });
  // Client bytes during start-up (SASL or password answers) go straight to the backend.
  client.on('data', (c: Buffer) => {
    if (!started) backend.write(c);
  });
  client.resume();
}

function refuseLate(client: TLSSocket, identity: string, deps: PostgresForwardDeps, message: string): void {
  deps.onRefused({ code: PG_ERRORS.BACKEND, message }, identity);
  client.end(errorResponse(SQLSTATE.CONNECTION_FAILURE, message));
  setTimeout(() => client.destroy(), REFUSAL_LINGER_MS).unref();
}
