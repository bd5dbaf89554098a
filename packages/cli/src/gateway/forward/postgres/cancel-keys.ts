/**
 * The BackendKeyData (§55.7: Byte1('K'), Int32 length, Int32 process ID, secret key) of every
 * session this gateway relayed to an accepted client, so that a CancelRequest, which libpq up to
 * 16 sends on a new plaintext connection without a certificate, is forwarded only when it names
 * one of them. Entries live as long as their session: the map is bounded by open connections.
 * Per process: a cancel that reaches another gateway (or another worker) finds nothing and is refused.
 */
import net from 'node:net';
import type { CancelKey } from './pre-tls.js';
import { CANCEL_HEADER_BYTES, CANCEL_REQUEST_CODE } from './protocol.js';

/** Where a session's backend listens: the cancel goes to the same place. */
export type PostgresBackend = { host: string; port: number } | { path: string };

interface Session {
  identity: string;
  backend: PostgresBackend;
}

/** Cancels in flight to backends at once; more are refused (a client cannot turn us into a flood). */
const MAX_INFLIGHT_CANCELS = 64;
/** A backend that does not take the 16 bytes within this is given up on. */
const CANCEL_TIMEOUT_MS = 5_000;

const hexKey = (k: CancelKey) => `${k.pid}:${Buffer.from(k.secret).toString('hex')}`;

/**
 * Keys of relayed sessions; `relay` forwards a matching cancel to the session's backend.
 * @example
 * const keys = new CancelKeys();
 * const forget = keys.add({ pid, secret }, { identity: 'payments', backend: { path: '/run/postgresql/.s.PGSQL.5432' } });
 * keys.relay({ pid, secret }); // true: the backend gets the CancelRequest
 */
export class CancelKeys {
  readonly #sessions = new Map<string, Session>();
  #inflight = 0;

  /** Records a relayed BackendKeyData; the returned function forgets it (call it when the session closes). */
  add(key: CancelKey, session: Session): () => void {
    const k = hexKey(key);
    this.#sessions.set(k, session);
    return () => {
      if (this.#sessions.get(k) === session) this.#sessions.delete(k);
    };
  }

  /** Sessions currently known (for tests and metrics). */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Forwards the cancel when `key` is a relayed session's (and, when `identity` is given, that
   * session's identity is the same); false when nothing matched or too many cancels are in flight.
   */
  relay(key: CancelKey, identity?: string): boolean {
    const s = this.#sessions.get(hexKey(key));
    if (!s || (identity !== undefined && s.identity !== identity)) return false;
    if (this.#inflight >= MAX_INFLIGHT_CANCELS) return false;
    this.#inflight++;
    const packet = Buffer.alloc(CANCEL_HEADER_BYTES + key.secret.length);
    packet.writeInt32BE(packet.length, 0);
    packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    packet.writeUInt32BE(key.pid >>> 0, 8);
    packet.set(key.secret, CANCEL_HEADER_BYTES);
    const sock = 'path' in s.backend ? net.connect({ path: s.backend.path }) : net.connect(s.backend);
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      this.#inflight--;
      clearTimeout(timer);
      sock.destroy();
    };
    const timer = setTimeout(finish, CANCEL_TIMEOUT_MS);
    sock.on('error', finish);
    sock.on('close', finish);
    // The backend reads the request and closes the connection without answering (§55.2.9).
    sock.end(packet);
    return true;
  }
}
