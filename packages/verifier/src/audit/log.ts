/**
 * The audit log writer: exactly one JSON line per event, to stdout or an append-only 0600 file
 * (pino's SonicBoom destination, synchronous), a caller's stream, or a callback.
 */
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { ConfigError } from '@ratls/evidence';
import { type DestinationStream, pino } from 'pino';
import type { PolicyStore } from '../policy/store.js';
import {
  type AuditEvent,
  type AuditInput,
  buildAuditEvent,
  buildConnectionCloseEvent,
  buildHttpRequestEvent,
  buildPolicyReloadEvent,
  type ConnectionCloseInput,
  type HttpRequestAuditInput,
  type PolicyReloadInput,
} from './event.js';
import { auditLine } from './line.js';

/** Bounds on the lines that wait for the end of a tick (see `emitLater`). */
const MAX_DEFERRED_LINES = 256;
const MAX_DEFERRED_CHARS = 1024 * 1024;

export type AuditSink =
  | 'stdout'
  | { file: string }
  | { callback: (event: AuditEvent) => void }
  | { stream: NodeJS.WritableStream };

export interface AuditLog {
  /** Writes one event for one decision (accept or reject) and returns it. */
  record(input: AuditInput): AuditEvent;
  /** Writes one event for a policy reload attempt. */
  recordPolicyReload(input: PolicyReloadInput): AuditEvent;
  /** Writes one event for one HTTP request on an accepted connection (forwarded or refused). */
  recordHttpRequest(input: HttpRequestAuditInput): AuditEvent;
  /**
   * Writes the event that ends one accepted connection (bytes in/out, duration): by the end of
   * the tick, with the other events of that tick in one write (`flush` and `close` write it at once).
   */
  recordConnectionClose(input: ConnectionCloseInput): AuditEvent;
  /**
   * Writes an event built elsewhere (a gateway worker's, received over IPC by the one writer): by
   * the end of the tick, batched like connection-close events.
   */
  write(event: AuditEvent): void;
  /** Resolves when everything recorded so far has been handed to the OS (or the stream). */
  flush(): Promise<void>;
  /**
   * Reopens a file sink by its path (log rotation: the file was renamed, the next event goes to a
   * new file at the configured path). A no-op for stdout, caller streams and callbacks.
   */
  reopen(): Promise<void>;
  /** Flushes, then closes a file sink (stdout and caller streams stay open). Later records are dropped. */
  close(): Promise<void>;
}

type SonicBoomLike = DestinationStream & {
  flushSync?: () => void;
  reopen?: (file?: string) => void;
  end?: () => void;
  destroyed?: boolean;
};

/**
 * @example
 * const audit = createAuditLog({ sink: { file: '/var/log/ratls/audit.jsonl' } });
 * audit.record({ decision, result, peer: { ip: socket.remoteAddress, port: socket.remotePort } });
 * await audit.close();
 */
export function createAuditLog(opts: { sink: AuditSink; now?: () => Date }): AuditLog {
  const now = opts.now ?? (() => new Date());
  const sink = opts.sink;
  let closed = false;

  if (typeof sink === 'object' && 'callback' in sink) {
    const cb = sink.callback;
    const emit = (ev: AuditEvent): AuditEvent => {
      if (!closed) cb(ev);
      return ev;
    };
    return {
      record: (input) => emit(buildAuditEvent(input, now)),
      recordPolicyReload: (input) => emit(buildPolicyReloadEvent(input, now)),
      recordHttpRequest: (input) => emit(buildHttpRequestEvent(input, now)),
      recordConnectionClose: (input) => emit(buildConnectionCloseEvent(input, now)),
      write: (ev) => void emit(ev),
      flush: async () => {},
      reopen: async () => {},
      close: async () => {
        closed = true;
      },
    };
  }

  let dest: SonicBoomLike;
  let ownsDest = false;
  let userStream: NodeJS.WritableStream | undefined;
  if (sink === 'stdout') {
    // Synchronous writes: an event is on its way to the pipeline before the socket is handed on.
    dest = pino.destination({ dest: 1, sync: true }) as SonicBoomLike;
  } else if ('file' in sink) {
    try {
      dest = pino.destination({
        dest: sink.file,
        sync: true,
        append: true,
        mkdir: false,
        mode: 0o600,
      }) as SonicBoomLike;
    } catch (e) {
      throw new ConfigError('ERR_AUDIT_SINK', 'audit', `${sink.file}: cannot open audit log: ${String(e)}`, {
        cause: e,
      });
    }
    ownsDest = true;
  } else if ('stream' in sink) {
    userStream = sink.stream;
    dest = sink.stream as unknown as SonicBoomLike;
  } else {
    throw new ConfigError('ERR_AUDIT_SINK', 'audit', 'audit sink must be stdout, { file }, { stream } or { callback }');
  }

  // The event is the whole line: serialized here, not by pino's logger, whose level/time/base
  // fields would not be ECS and would make the line differ from the returned event. JSON.stringify
  // escapes newlines, so a peer-influenced string can never split or forge a line.
  // Decisions (and reloads, HTTP requests) are written at once: an event is on its way before
  // the socket is handed on. What only follows a connection (its close event) and events that
  // were written elsewhere first (a cluster worker's, relayed by the primary) wait for the next
  // write or the end of the tick, so a burst costs one write system call, not one per event.
  let later: string[] = [];
  let laterBytes = 0;
  let scheduled = false;
  const drain = (): void => {
    scheduled = false;
    if (later.length === 0) return;
    const text = later.join('');
    later = [];
    laterBytes = 0;
    if (!closed) dest.write(text);
  };
  const emit = (ev: AuditEvent): AuditEvent => {
    if (closed) return ev;
    const line = `${auditLine(ev)}\n`;
    if (later.length === 0) dest.write(line);
    else {
      later.push(line);
      drain();
    }
    return ev;
  };
  const emitLater = (ev: AuditEvent): AuditEvent => {
    if (closed) return ev;
    const line = `${auditLine(ev)}\n`;
    later.push(line);
    laterBytes += line.length;
    // Bounded: a burst never holds more than MAX_DEFERRED_LINES or MAX_DEFERRED_CHARS in memory.
    if (later.length >= MAX_DEFERRED_LINES || laterBytes >= MAX_DEFERRED_CHARS) drain();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(drain);
    }
    return ev;
  };

  const flush = async (): Promise<void> => {
    drain();
    if (userStream) {
      const w = userStream as NodeJS.WritableStream & { writableNeedDrain?: boolean };
      if (w.writableNeedDrain) await once(w, 'drain');
      return;
    }
    if (!dest.destroyed) dest.flushSync?.();
  };

  return {
    record: (input) => emit(buildAuditEvent(input, now)),
    recordPolicyReload: (input) => emit(buildPolicyReloadEvent(input, now)),
    recordHttpRequest: (input) => emit(buildHttpRequestEvent(input, now)),
    recordConnectionClose: (input) => emitLater(buildConnectionCloseEvent(input, now)),
    write: (ev) => void emitLater(ev),
    flush,
    reopen: async () => {
      if (closed || !ownsDest || !dest.reopen) return;
      // Everything recorded so far goes to the old (renamed) file; SonicBoom then opens the
      // configured path again, synchronously (sync: true), with the same append flag and 0600 mode.
      // SonicBoom in sync mode reports a failed open to nobody and keeps its old descriptor, so
      // try the open here first: on failure events keep going to the old file and the caller hears why.
      const file = (sink as { file: string }).file;
      try {
        closeSync(openSync(file, 'a', 0o600));
      } catch (e) {
        throw new ConfigError('ERR_AUDIT_SINK', 'audit', `${file}: cannot reopen audit log: ${String(e)}`, {
          cause: e,
        });
      }
      await flush();
      dest.reopen();
    },
    close: async () => {
      if (closed) return;
      await flush();
      closed = true;
      if (ownsDest && dest.end) {
        const done = once(dest as unknown as NodeJS.EventEmitter, 'close');
        dest.end();
        await done;
      }
    },
  };
}

/**
 * Records every reload attempt of `store` (success or failure) in `audit`; returns a detach function.
 * @example const detach = auditPolicyReloads(audit, store); // … later: detach()
 */
export function auditPolicyReloads(audit: AuditLog, store: PolicyStore): () => void {
  const onOk = (e: { source: string; hash: string; previousHash?: string }) =>
    audit.recordPolicyReload({
      ok: true,
      hash: e.hash,
      source: e.source,
      ...(e.previousHash !== undefined ? { previousHash: e.previousHash } : {}),
    });
  const onFail = (e: { source: string; error: { code: string; message: string }; currentHash?: string }) =>
    audit.recordPolicyReload({
      ok: false,
      source: e.source,
      error: e.error,
      ...(e.currentHash !== undefined ? { hash: e.currentHash } : {}),
    });
  store.on('reloaded', onOk);
  store.on('reload-failed', onFail);
  return () => {
    store.off('reloaded', onOk);
    store.off('reload-failed', onFail);
  };
}
