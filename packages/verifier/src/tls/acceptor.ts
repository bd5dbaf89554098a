/**
 * The pre-TLS acceptor that sits in front of every attested listener. The TLS server never listens
 * itself: a plain `net.Server` accepts (paused, so nothing is read before admission), the owner
 * admits or refuses the socket, `readPreTls` reads what precedes TLS through a chain of readers
 * under a first-byte deadline, puts the unconsumed bytes back (`unshift`) and only then is the
 * socket handed to the TLS server with `emit('connection', socket)`; Node's TLSSocket feeds bytes
 * already buffered on the wrapped socket to the TLS engine first, so nothing is lost.
 *
 * The returned TLS server keeps its shape: `listen`, `close`, `address`, `listening`,
 * `maxConnections`, `getConnections`, `ref` and `unref` act on the front listener, and its
 * `listening`, `error` and `drop` events are re-emitted on the TLS server. The TLS server's own
 * `connection` event fires at hand-off, not at TCP accept.
 */
import net from 'node:net';
import type tls from 'node:tls';
import { TLS_ERRORS } from '../decide/errors.js';
import { type DeclaredSource, type PreTlsReader, tlsRecordReader } from './pre-tls.js';

/** Bound on bytes read before TLS (a PROXY v2 header is at most 16 + 65535 bytes). */
export const MAX_PRE_TLS_BYTES = 16 + 65_535;

export type PreTlsOutcome = { kind: 'handoff' } | { kind: 'refuse'; code: string; message: string };

export interface PreTlsOptions {
  /** Readers that run before the TLS record check (PROXY v2, SSLRequest). */
  readers?: readonly PreTlsReader[];
  /** A socket whose TLS record header has not arrived by then is refused. */
  timeoutMs: number;
  /**
   * Called as soon as a reader declares the socket's source; returning false stops reading (the
   * owner refused the socket itself, and `done` is not called).
   */
  onSource?: (source: DeclaredSource) => boolean;
}

/**
 * Reads from a paused socket until every reader (then the TLS record check) has handed off, or
 * one refuses, or `timeoutMs` passes; calls `done` at most once. On hand-off the socket is paused
 * again with the unconsumed bytes back in its buffer. If the socket closes first, `done` is not
 * called (the owner's `close` handler decides).
 * @example
 * readPreTls(socket, { timeoutMs: 3000 }, (r) => (r.kind === 'handoff' ? tlsServer.emit('connection', socket) : socket.destroy()));
 */
export function readPreTls(socket: net.Socket, opts: PreTlsOptions, done: (r: PreTlsOutcome) => void): void {
  const readers = [...(opts.readers ?? []), tlsRecordReader];
  let k = 0;
  let buf: Buffer = Buffer.alloc(0);
  let over = false;
  const peer = {
    ...(socket.remoteAddress ? { ip: socket.remoteAddress } : {}),
    ...(socket.remotePort ? { port: socket.remotePort } : {}),
  };
  const finish = (r: PreTlsOutcome) => {
    if (over) return;
    over = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', stop);
    socket.pause();
    if (r.kind === 'handoff' && buf.length > 0) socket.unshift(buf);
    done(r);
  };
  const stop = () => {
    over = true;
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', stop);
  };
  const advance = () => {
    while (k < readers.length) {
      const reader = readers[k] as PreTlsReader;
      let v: ReturnType<PreTlsReader['read']>;
      try {
        v = reader.read(new Uint8Array(buf.buffer, buf.byteOffset, buf.length), peer);
      } catch (e) {
        v = { kind: 'refuse', code: TLS_ERRORS.PRE_TLS_FAILED, message: `${reader.name}: ${(e as Error).message}` };
      }
      if (v.kind === 'more') return;
      if (v.kind === 'refuse') {
        finish(v);
        return;
      }
      if (!Number.isInteger(v.consumed) || v.consumed < 0 || v.consumed > buf.length) {
        finish({
          kind: 'refuse',
          code: TLS_ERRORS.PRE_TLS_FAILED,
          message: `${reader.name}: consumed ${v.consumed} of ${buf.length} bytes`,
        });
        return;
      }
      buf = buf.subarray(v.consumed);
      if (v.source && opts.onSource && !opts.onSource(v.source)) {
        stop();
        return;
      }
      if (v.reply && !socket.destroyed) socket.write(v.reply);
      k++;
    }
    finish({ kind: 'handoff' });
  };
  const onData = (chunk: Buffer) => {
    if (buf.length + chunk.length > MAX_PRE_TLS_BYTES) {
      finish({
        kind: 'refuse',
        code: TLS_ERRORS.PRE_TLS_TOO_LARGE,
        message: `more than ${MAX_PRE_TLS_BYTES} bytes before the TLS handshake`,
      });
      return;
    }
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    advance();
  };
  const timer = setTimeout(
    () =>
      finish({
        kind: 'refuse',
        code: TLS_ERRORS.CLIENT_HELLO_TIMEOUT,
        message: `no TLS handshake record header within ${opts.timeoutMs} ms of accept`,
      }),
    opts.timeoutMs,
  );
  socket.on('data', onData);
  socket.once('close', stop);
  socket.resume();
}

/**
 * Puts a plain `net.Server` (accepting paused sockets into `onConnection`) in front of `server`
 * and points the server's listening surface at it. Returns the front listener.
 * @example
 * const front = frontListener(tlsServer, (raw) => readPreTls(raw, { timeoutMs: 3000 }, () => tlsServer.emit('connection', raw)));
 * tlsServer.listen(0, '127.0.0.1'); // listens on `front`
 */
export function frontListener(server: tls.Server, onConnection: (raw: net.Socket) => void): net.Server {
  const front = net.createServer({ pauseOnConnect: true }, onConnection);
  const own = server.close.bind(server) as () => void;
  front.on('listening', () => server.emit('listening'));
  front.on('error', (e) => server.emit('error', e));
  front.on('drop', (d) => server.emit('drop', d));
  const target = server as unknown as Record<string, unknown>;
  target.listen = (...args: unknown[]) => {
    (front.listen as (...a: unknown[]) => net.Server)(...args);
    return server;
  };
  target.address = () => front.address();
  target.getConnections = (cb: (err: Error | null, count: number) => void) => front.getConnections(cb);
  target.ref = () => {
    front.ref();
    return server;
  };
  target.unref = () => {
    front.unref();
    return server;
  };
  target.close = (cb?: (err?: Error) => void) => {
    // An https.Server closes its idle keep-alive sockets on close; without that the front would
    // wait for them forever.
    (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
    front.close((err) => {
      if (cb) server.once('close', () => cb(err));
      // The server's own close (it holds no handle and no counted connections) runs its cleanup,
      // such as https' request-timeout sweep, and emits its 'close'.
      own();
    });
    return server;
  };
  Object.defineProperty(server, 'listening', { configurable: true, get: () => front.listening });
  Object.defineProperty(server, 'maxConnections', {
    configurable: true,
    get: () => front.maxConnections,
    set: (n: number) => {
      front.maxConnections = n;
    },
  });
  return front;
}
