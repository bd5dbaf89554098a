/**
 * The StartupMessage an accepted client sends first over TLS (§55.7 "StartupMessage": Int32
 * length, Int32 protocol version, then name/value C-string pairs and a terminating zero byte),
 * parsed strictly and rewritten so the backend sees the role mapped to the attested identity and
 * nothing the client could use to become someone else.
 */
import { PG_ERRORS } from './errors.js';
import type { CancelKey } from './pre-tls.js';
import {
  CANCEL_HEADER_BYTES,
  CANCEL_REQUEST_CODE,
  int32,
  MAX_CANCEL_KEY_BYTES,
  MAX_STARTUP_BYTES,
  PROTOCOL_MAJOR_3,
  SQLSTATE,
} from './protocol.js';

export type StartupParams = [name: string, value: string][];

export type StartupPacket =
  | { kind: 'more' }
  | { kind: 'startup'; version: number; params: StartupParams; length: number }
  | { kind: 'cancel'; key: CancelKey; length: number }
  | { kind: 'refuse'; refusal: StartupRefusal };

/** Why a startup was refused: the audit's code and the ErrorResponse's SQLSTATE and message. */
export interface StartupRefusal {
  code: string;
  sqlstate: string;
  message: string;
}

const malformed = (message: string): StartupPacket => ({
  kind: 'refuse',
  refusal: { code: PG_ERRORS.STARTUP_MALFORMED, sqlstate: SQLSTATE.PROTOCOL_VIOLATION, message },
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the first packet of an accepted connection from `b` (everything received so far).
 * @example parseStartupPacket(bytes); // { kind: 'startup', version: 196608, params: [['user', 'app'], …], length: 41 }
 */
export function parseStartupPacket(b: Uint8Array): StartupPacket {
  if (b.length < 4) return { kind: 'more' };
  const length = int32(b, 0);
  if (length < 8 || length > MAX_STARTUP_BYTES) return malformed(`startup packet length ${length}`);
  if (b.length < length) return { kind: 'more' };
  const version = int32(b, 4);
  if (version === CANCEL_REQUEST_CODE) {
    if (length < CANCEL_HEADER_BYTES + 4 || length > CANCEL_HEADER_BYTES + MAX_CANCEL_KEY_BYTES)
      return malformed(`CancelRequest of ${length} bytes`);
    return { kind: 'cancel', key: { pid: int32(b, 8), secret: b.slice(CANCEL_HEADER_BYTES, length) }, length };
  }
  if (version >>> 16 !== PROTOCOL_MAJOR_3)
    return malformed(`unsupported frontend protocol ${version >>> 16}.${version & 0xffff} (or a request inside TLS)`);
  if (b[length - 1] !== 0) return malformed('startup packet does not end with a zero byte');
  const params: StartupParams = [];
  const seen = new Set<string>();
  let off = 8;
  const cstring = (): string | undefined => {
    const end = b.indexOf(0, off);
    if (end < 0 || end >= length) return undefined;
    let s: string;
    try {
      s = utf8.decode(b.subarray(off, end));
    } catch {
      return undefined;
    }
    off = end + 1;
    return s;
  };
  while (off < length - 1) {
    const name = cstring();
    if (name === undefined || name === '') return malformed('startup parameter name missing or not UTF-8');
    if (off >= length - 1) return malformed(`startup parameter ${name} has no value`);
    const value = cstring();
    if (value === undefined) return malformed(`startup parameter ${name}: value not terminated or not UTF-8`);
    const key = name.toLowerCase();
    if (seen.has(key)) return malformed(`startup parameter ${name} given twice`);
    seen.add(key);
    params.push([name, value]);
  }
  return { kind: 'startup', version, params, length };
}

/**
 * Run-time parameters a client may still set at startup; each is one a session may `SET` itself
 * anyway. Names compare case-insensitively, as PostgreSQL's GUC names do.
 */
const PASS_THROUGH = new Set([
  'database',
  'client_encoding',
  'datestyle',
  'timezone',
  'intervalstyle',
  'extra_float_digits',
  'search_path',
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'geqo',
]);
/** Replaced by the identity (application_name) or dropped with it (fallback_application_name). */
const REPLACED = new Set(['application_name', 'fallback_application_name']);
/** NAMEDATALEN - 1: the backend truncates application_name there. */
const MAX_APPLICATION_NAME = 63;

/**
 * The startup parameters to send the backend for `identity`, or why the client is refused:
 * `user` must be the role `roles` maps the identity to; `replication`, non-empty `options`, `role`,
 * `session_authorization` and any parameter outside PASS_THROUGH are refused (not stripped: a
 * client that asked for them would otherwise run with settings it did not get, silently);
 * `application_name` becomes the identity.
 * @example rewriteStartup([['user', 'app']], 'payments', { payments: 'app' }); // { ok: true, params: [['user','app'],['application_name','payments']] }
 */
export function rewriteStartup(
  params: StartupParams,
  identity: string,
  roles: Readonly<Record<string, string>>,
): { ok: true; params: StartupParams } | { ok: false; refusal: StartupRefusal } {
  const role = Object.hasOwn(roles, identity) ? roles[identity] : undefined;
  const no = (code: string, sqlstate: string, message: string) => ({
    ok: false as const,
    refusal: { code, sqlstate, message },
  });
  if (role === undefined)
    return no(
      PG_ERRORS.ROLE_NOT_MAPPED,
      SQLSTATE.INVALID_AUTHORIZATION,
      `ratls gateway: identity "${identity}" has no PostgreSQL role in this listener's roles map`,
    );
  const out: StartupParams = [['user', role]];
  let user: string | undefined;
  for (const [name, value] of params) {
    const key = name.toLowerCase();
    if (key === 'user') user = value;
    else if (key === 'replication')
      return no(
        PG_ERRORS.REPLICATION_REFUSED,
        SQLSTATE.FEATURE_NOT_SUPPORTED,
        'ratls gateway: replication connections are not forwarded',
      );
    else if (key === 'options') {
      if (value.trim() !== '')
        return no(
          PG_ERRORS.OPTIONS_REFUSED,
          SQLSTATE.FEATURE_NOT_SUPPORTED,
          'ratls gateway: startup "options" are refused (they can set role or session_authorization); SET them in the session instead',
        );
    } else if (REPLACED.has(key)) {
      // Dropped here; the identity is added below.
    } else if (PASS_THROUGH.has(key)) out.push([name, value]);
    else
      return no(
        PG_ERRORS.PARAMETER_REFUSED,
        SQLSTATE.FEATURE_NOT_SUPPORTED,
        `ratls gateway: startup parameter "${name.slice(0, 64)}" is not forwarded`,
      );
  }
  if (user === undefined)
    return no(
      PG_ERRORS.STARTUP_MALFORMED,
      SQLSTATE.PROTOCOL_VIOLATION,
      'no PostgreSQL user name specified in startup packet',
    );
  if (user !== role)
    return no(
      PG_ERRORS.ROLE_MISMATCH,
      SQLSTATE.INVALID_AUTHORIZATION,
      `ratls gateway: role "${user.slice(0, 64)}" is not the role mapped to identity "${identity}" (use user=${role})`,
    );
  out.push(['application_name', applicationName(identity)]);
  return { ok: true, params: out };
}

/** The identity as the backend will store it: printable ASCII (others become `?`, as the backend does), at most 63 bytes. */
function applicationName(identity: string): string {
  return identity.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_APPLICATION_NAME);
}

/**
 * Encodes a StartupMessage.
 * @example encodeStartup(196608, [['user', 'app']]); // Int32(22) Int32(196608) "user\0app\0" "\0"
 */
export function encodeStartup(version: number, params: StartupParams): Uint8Array {
  const enc = new TextEncoder();
  const parts = params.flatMap(([n, v]) => [enc.encode(n), Uint8Array.of(0), enc.encode(v), Uint8Array.of(0)]);
  const length = 8 + parts.reduce((n, p) => n + p.length, 0) + 1;
  const out = new Uint8Array(length);
  const dv = new DataView(out.buffer);
  dv.setInt32(0, length);
  dv.setInt32(4, version);
  let off = 8;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  out[off] = 0;
  return out;
}
