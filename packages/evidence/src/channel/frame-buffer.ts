/**
 * Incremental reading of channel frames from a byte stream, and the stream glue both sides use:
 * frames are read in paused mode (`readable` + `read()`), and whatever follows the last frame is
 * put back with `unshift`, so the application later reads its own first byte and nothing else.
 */
import { RatlsError } from '../errors.js';
import { type ChannelMessage, DEFAULT_MAX_CHANNEL_FRAME_BYTES, readChannelFrame, startsChannelFrame } from './frame.js';

/** Bytes received but not yet read as frames. */
export class ChannelFrameBuffer {
  private buf: Uint8Array = new Uint8Array(0);
  constructor(readonly maxFrameBytes: number = DEFAULT_MAX_CHANNEL_FRAME_BYTES) {}

  push(chunk: Uint8Array): void {
    const next = new Uint8Array(this.buf.byteLength + chunk.byteLength);
    next.set(this.buf, 0);
    next.set(chunk, this.buf.byteLength);
    this.buf = next;
  }

  /** True when bytes are buffered. */
  get size(): number {
    return this.buf.byteLength;
  }

  /**
   * The next frame, `more` while incomplete, or `app` when the buffered bytes are not a frame
   * (application data). Throws the framing's ERR_CHANNEL_FRAME_* errors.
   * @example const m = buffer.next(); if (m === 'app') refuse('no binding')
   */
  next(): ChannelMessage | 'more' | 'app' {
    if (this.buf.byteLength === 0) return 'more';
    if (startsChannelFrame(this.buf) === 'no') return 'app';
    const r = readChannelFrame(this.buf, this.maxFrameBytes);
    if (r === 'more') return 'more';
    this.buf = r.rest;
    return r.message;
  }

  /** Whether the buffered bytes begin another frame (or may: the magic's first bytes). */
  startsFrame(): boolean {
    return this.buf.byteLength > 0 && startsChannelFrame(this.buf) !== 'no';
  }

  /** Everything buffered, and the buffer emptied. */
  take(): Uint8Array {
    const out = this.buf;
    this.buf = new Uint8Array(0);
    return out;
  }
}

/** The stream surface the glue needs (a net.Socket / tls.TLSSocket has it). */
export interface ChannelStream {
  read(): unknown;
  unshift(chunk: Uint8Array): void;
  on(event: 'readable' | 'end' | 'close', fn: () => void): unknown;
  off(event: 'readable' | 'end' | 'close', fn: () => void): unknown;
  readonly destroyed: boolean;
}

/**
 * Waits (bounded by `deadline`, a Date.now() value) for the next frame or for application data.
 * Rejects with ERR_CHANNEL_TIMEOUT past the deadline and ERR_TLS_CLOSED_BEFORE_DECISION on close.
 * @example const m = await nextChannelMessage(socket, buffer, Date.now() + 5000, 'the challenge answer')
 */
export function nextChannelMessage(
  stream: ChannelStream,
  buffer: ChannelFrameBuffer,
  deadline: number,
  what: string,
): Promise<ChannelMessage | 'app'> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onClose);
      stream.off('close', onClose);
    };
    const settle = (): boolean => {
      try {
        const m = buffer.next();
        if (m === 'more') return false;
        cleanup();
        resolve(m);
      } catch (e) {
        cleanup();
        reject(e);
      }
      return true;
    };
    function onReadable(): void {
      for (;;) {
        const c = stream.read();
        if (c === null) break;
        if (c instanceof Uint8Array) buffer.push(c);
      }
      settle();
    }
    function onClose(): void {
      cleanup();
      reject(
        new RatlsError('ERR_TLS_CLOSED_BEFORE_DECISION', 'channel', `connection closed while waiting for ${what}`),
      );
    }
    if (settle()) return;
    if (stream.destroyed) {
      onClose();
      return;
    }
    const ms = Math.max(0, deadline - Date.now());
    timer = setTimeout(() => {
      cleanup();
      reject(new RatlsError('ERR_CHANNEL_TIMEOUT', 'channel', `no ${what} within the channel bound`));
    }, ms);
    stream.on('readable', onReadable);
    stream.on('end', onClose);
    stream.on('close', onClose);
    onReadable();
  });
}

/**
 * Ends frame reading: bytes after the last frame go back to the stream for the application.
 * @example releaseChannelStream(socket, buffer)
 */
export function releaseChannelStream(stream: ChannelStream, buffer: ChannelFrameBuffer): void {
  const rest = buffer.take();
  if (rest.byteLength > 0) stream.unshift(Buffer.from(rest.buffer, rest.byteOffset, rest.byteLength));
}
