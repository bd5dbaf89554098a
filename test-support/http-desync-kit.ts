/**
 * Test kit for the HTTP desync tests (not public): a raw `net` backend that parses every request
 * itself, strictly, and records the exact bytes; and a raw client that writes bytes over the
 * attested TLS connection and parses the responses. Neither side uses Node's HTTP parser, so the
 * assertions are about bytes on the wire, not about what one parser makes of them.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';

export interface SeenRequest {
  conn: number;
  method: string;
  target: string;
  /** Header fields in order, names as sent. */
  headers: Array<[string, string]>;
  body: Buffer;
  chunked: boolean;
  raw: Buffer;
}

export interface RawBackend {
  port: number;
  requests: SeenRequest[];
  /** Parse failures and extra bytes after a complete request: any entry means a desynchronized backend. */
  errors: string[];
  /** Requests cut off by the gateway closing the connection (an aborted upload): never executed. */
  aborted: string[];
  connections(): number;
  close(): Promise<void>;
}

type Parsed = 'incomplete' | { error: string } | { req: Omit<SeenRequest, 'conn'>; used: number };

function parseChunked(buf: Buffer, from: number): 'incomplete' | { error: string } | { body: Buffer; end: number } {
  const parts: Buffer[] = [];
  let off = from;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    if (eol === -1) return 'incomplete';
    const line = buf.subarray(off, eol).toString('latin1');
    if (!/^[0-9a-f]{1,8}$/i.test(line)) return { error: `bad chunk size line ${JSON.stringify(line)}` };
    const size = Number.parseInt(line, 16);
    off = eol + 2;
    if (size === 0) {
      if (buf.length < off + 2) return 'incomplete';
      if (buf.subarray(off, off + 2).toString('latin1') !== '\r\n')
        return { error: 'trailers or junk after last chunk' };
      return { body: Buffer.concat(parts), end: off + 2 };
    }
    if (buf.length < off + size + 2) return 'incomplete';
    parts.push(buf.subarray(off, off + size));
    if (buf.subarray(off + size, off + size + 2).toString('latin1') !== '\r\n')
      return { error: 'chunk not followed by CRLF' };
    off += size + 2;
  }
}

/** One strict HTTP/1.1 request from the start of `buf`. */
export function parseRequest(buf: Buffer): Parsed {
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) return buf.length > 65_536 ? { error: 'header section too long' } : 'incomplete';
  const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^([A-Z]+) (\S+) HTTP\/1\.1$/.exec(lines[0] ?? '');
  if (!m) return { error: `bad request line ${JSON.stringify(lines[0]?.slice(0, 80))}` };
  const headers: Array<[string, string]> = [];
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c <= 0 || /\s/.test(l.slice(0, c)) || /^\s/.test(l)) return { error: `bad header line ${JSON.stringify(l)}` };
    headers.push([l.slice(0, c), l.slice(c + 1).trim()]);
  }
  const get = (n: string) => headers.filter(([k]) => k.toLowerCase() === n).map(([, v]) => v);
  const te = get('transfer-encoding');
  const cl = get('content-length');
  if (te.length && cl.length) return { error: 'both Transfer-Encoding and Content-Length' };
  if (cl.length > 1 || te.length > 1) return { error: 'repeated framing header' };
  const start = end + 4;
  const base = { method: m[1] as string, target: m[2] as string, headers };
  if (te.length) {
    if (te[0] !== 'chunked') return { error: `Transfer-Encoding ${te[0]}` };
    const r = parseChunked(buf, start);
    if (r === 'incomplete' || 'error' in r) return r;
    return { req: { ...base, body: r.body, chunked: true, raw: buf.subarray(0, r.end) }, used: r.end };
  }
  const n = cl.length ? Number(cl[0]) : 0;
  if (!Number.isSafeInteger(n) || n < 0) return { error: `Content-Length ${cl[0]}` };
  if (buf.length < start + n) return 'incomplete';
  return {
    req: { ...base, body: buf.subarray(start, start + n), chunked: false, raw: buf.subarray(0, start + n) },
    used: start + n,
  };
}

/** A keep-alive backend that answers each request with `{"n": <its index>}` (no body for HEAD). */
export async function rawBackend(): Promise<RawBackend> {
  const requests: SeenRequest[] = [];
  const errors: string[] = [];
  const aborted: string[] = [];
  let conns = 0;
  const server = net.createServer((sock) => {
    const id = ++conns;
    sock.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (;;) {
        const r = parseRequest(buf);
        if (r === 'incomplete') return;
        if ('error' in r) {
          errors.push(`conn ${id}: ${r.error}`);
          sock.destroy();
          return;
        }
        buf = Buffer.from(buf.subarray(r.used));
        const n = requests.push({ ...r.req, body: Buffer.from(r.req.body), raw: Buffer.from(r.req.raw), conn: id }) - 1;
        const body = r.req.method === 'HEAD' ? '' : JSON.stringify({ n });
        sock.write(
          `HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${
            r.req.method === 'HEAD' ? 7 : Buffer.byteLength(body)
          }\r\n\r\n${body}`,
        );
      }
    });
    sock.on('close', () => {
      if (buf.length) aborted.push(`conn ${id}: ${buf.length} bytes of an incomplete request`);
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const open = new Set<net.Socket>();
  server.on('connection', (s) => {
    open.add(s);
    s.on('close', () => open.delete(s));
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    errors,
    aborted,
    connections: () => conns,
    close: () =>
      new Promise<void>((r) => {
        for (const s of open) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Parses complete responses (content-length framed; 1xx have no body; `noBody` for HEAD answers). */
export function parseResponses(text: string, noBody: (index: number) => boolean = () => false): RawResponse[] {
  const out: RawResponse[] = [];
  let off = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', off);
    if (end === -1) return out;
    const lines = text.slice(off, end).split('\r\n');
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? '')?.[1] ?? 0);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
    }
    const finals = out.filter((r) => r.status >= 200).length;
    const len = status < 200 || noBody(finals) ? 0 : Number(headers['content-length'] ?? 0);
    if (text.length < end + 4 + len) return out;
    out.push({ status, headers, body: text.slice(end + 4, end + 4 + len) });
    off = end + 4 + len;
  }
}

export interface RawClient {
  write(bytes: string | Buffer): void;
  /** Resolves with the responses once `n` final ones arrived, the socket closed, or `ms` passed. */
  responses(n: number, opts?: { ms?: number; noBody?: (index: number) => boolean }): Promise<RawResponse[]>;
  text(): string;
  closed(): boolean;
  close(): void;
}

/** An attested TLS connection (client certificate `cert`/`key`) that speaks raw bytes. */
export async function rawClient(port: number, creds: { cert: string; key: string }): Promise<RawClient> {
  const sock = tls.connect({
    host: '127.0.0.1',
    port,
    cert: readFileSync(creds.cert),
    key: readFileSync(creds.key),
    rejectUnauthorized: false,
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('secureConnect', () => resolve());
    sock.once('error', reject);
  });
  sock.setNoDelay(true);
  let text = '';
  let isClosed = false;
  const waiters = new Set<() => void>();
  sock.on('data', (c: Buffer) => {
    text += c.toString('latin1');
    for (const w of waiters) w();
  });
  sock.on('error', () => undefined);
  sock.on('close', () => {
    isClosed = true;
    for (const w of waiters) w();
  });
  return {
    write: (b) => sock.write(typeof b === 'string' ? Buffer.from(b, 'latin1') : b),
    text: () => text,
    closed: () => isClosed,
    close: () => sock.destroy(),
    responses(n, opts = {}) {
      return new Promise((resolve) => {
        const check = () => {
          const rs = parseResponses(text, opts.noBody);
          if (rs.filter((r) => r.status >= 200).length >= n || isClosed) {
            waiters.delete(check);
            clearTimeout(t);
            resolve(rs);
          }
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          resolve(parseResponses(text, opts.noBody));
        }, opts.ms ?? 3000);
        waiters.add(check);
        check();
      });
    },
  };
}
