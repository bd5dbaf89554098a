/**
 * Reads the backend's messages from the rewritten StartupMessage up to its first ReadyForQuery
 * (§55.2.1 "Start-up"): authentication requests, ParameterStatus, BackendKeyData, NoticeResponse,
 * ErrorResponse. Only BackendKeyData is looked into (its key is recorded for cancels); every byte
 * is passed on unchanged. Each message is Byte1 type, Int32 length including itself.
 */

import type { CancelKey } from './pre-tls.js';
import { int32, MAX_CANCEL_KEY_BYTES } from './protocol.js';

const TYPE_BACKEND_KEY_DATA = 0x4b; // 'K'
const TYPE_READY_FOR_QUERY = 0x5a; // 'Z'
/** Bound on one backend message during start-up (SASL, notices and errors are far smaller). */
export const MAX_STARTUP_BACKEND_MESSAGE = 1024 * 1024;

export type BackendScan =
  | { kind: 'more'; consumed: number; keys: CancelKey[] }
  | { kind: 'ready'; consumed: number; keys: CancelKey[] }
  | { kind: 'malformed'; why: string };

/**
 * Scans complete messages at the start of `b`: `consumed` bytes are whole messages (pass them on);
 * `ready` once a ReadyForQuery was among them (everything after it is the session's own traffic).
 * @example scanBackendStartup(bytes); // { kind: 'ready', consumed: 312, keys: [{ pid: 4242, secret }] }
 */
export function scanBackendStartup(b: Uint8Array): BackendScan {
  const keys: CancelKey[] = [];
  let off = 0;
  while (b.length - off >= 5) {
    const type = b[off] as number;
    const length = int32(b, off + 1);
    if (length < 4 || length > MAX_STARTUP_BACKEND_MESSAGE)
      return { kind: 'malformed', why: `backend message '${String.fromCharCode(type)}' of ${length} bytes` };
    if (b.length - off < 1 + length) break;
    if (type === TYPE_BACKEND_KEY_DATA) {
      if (length < 12 || length > 8 + MAX_CANCEL_KEY_BYTES)
        return { kind: 'malformed', why: `BackendKeyData of ${length} bytes` };
      keys.push({ pid: int32(b, off + 5), secret: b.slice(off + 9, off + 1 + length) });
    }
    off += 1 + length;
    if (type === TYPE_READY_FOR_QUERY) return { kind: 'ready', consumed: off, keys };
  }
  return { kind: 'more', consumed: off, keys };
}
