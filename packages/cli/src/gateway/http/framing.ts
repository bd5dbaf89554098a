/**
 * The framing decision for one client request (pure): what body, if any, the client sent, judged
 * as strictly as RFC 9112 §6 allows. Node's parser (llhttp) already refuses much of this; the
 * checks are repeated here so the gateway's safety does not rest on one parser's leniency flags.
 */
import { type HttpRefusal, refusal } from './refusal.js';

/** The client's body: none, an exact length, or chunked (length unknown until the last chunk). */
export type ClientBody = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

export interface FramingInput {
  method: string;
  /** '1.1' or '1.0', as Node reports it. */
  httpVersion: string;
  rawHeaders: readonly string[];
  maxBodyBytes: number;
  maxHeaders: number;
}

export type FramingDecision =
  | { ok: true; body: ClientBody; expectContinue: boolean }
  | { ok: false; refusal: HttpRefusal };

function values(raw: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() === name) out.push(raw[i + 1] as string);
  }
  return out;
}

const no = (reason: Parameters<typeof refusal>[0], detail: string): FramingDecision => ({
  ok: false,
  refusal: refusal(reason, detail),
});

/**
 * Decides how the client framed its body, or why the request is refused.
 * @example decideFraming({ method: 'POST', httpVersion: '1.1', rawHeaders: ['Host', 'a', 'Content-Length', '3'], maxBodyBytes: 1024, maxHeaders: 100 })
 * // { ok: true, body: { kind: 'length', length: 3 }, expectContinue: false }
 */
export function decideFraming(i: FramingInput): FramingDecision {
  const raw = i.rawHeaders;
  if (i.method === 'CONNECT') return no('connect_unsupported', 'CONNECT is not proxied');
  if (raw.length / 2 > i.maxHeaders) return no('too_many_headers', `more than ${i.maxHeaders} header fields`);
  const hosts = values(raw, 'host');
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1; more than one is a 400 in any version.
  if (hosts.length > 1) return no('duplicate_host', `${hosts.length} Host fields`);
  if (hosts.length === 0 && i.httpVersion !== '1.0') return no('missing_host', 'no Host field');
  // A plain request naming Upgrade (no Connection: upgrade) is not a switch the gateway relays;
  // WebSocket handshakes arrive through the server's upgrade event (websocket.ts), h2c never.
  if (values(raw, 'upgrade').length > 0) return no('upgrade_unsupported', 'Upgrade is not proxied');

  let expectContinue = false;
  const expect = values(raw, 'expect');
  if (expect.length > 1 || (expect.length === 1 && expect[0]?.trim().toLowerCase() !== '100-continue')) {
    return no('expectation_unsupported', 'only Expect: 100-continue is supported');
  }
  if (expect.length === 1) expectContinue = true;

  const te = values(raw, 'transfer-encoding');
  const cl = values(raw, 'content-length');
  // RFC 9112 §6.1: both present is a smuggling attempt or a broken client; refuse, never pick one.
  if (te.length > 0 && cl.length > 0) return no('te_and_cl', 'Transfer-Encoding with Content-Length');
  if (te.length > 0) {
    // RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is faulty framing.
    if (i.httpVersion === '1.0') return no('te_in_http10', 'Transfer-Encoding in HTTP/1.0');
    if (te.length > 1) return no('invalid_transfer_encoding', `${te.length} Transfer-Encoding fields`);
    const codings = (te[0] as string).split(',').map((s) => s.trim().toLowerCase());
    // Coding names are case-insensitive (RFC 9112 §7); Node has already trimmed the OWS. Since the
    // gateway reframes, `Chunked` is unambiguous here; anything else is not what the backend gets.
    if (codings.length === 1 && codings[0] === 'chunked')
      return { ok: true, body: { kind: 'chunked' }, expectContinue };
    // RFC 9112 §6.3: chunked not final → 400; a coding the gateway does not implement → 501.
    const before = codings.slice(0, -1);
    if (codings.at(-1) !== 'chunked' || before.some((c) => c === '' || c === 'chunked' || c === 'identity')) {
      return no('invalid_transfer_encoding', `Transfer-Encoding "${(te[0] as string).slice(0, 64)}"`);
    }
    return no('unsupported_transfer_coding', `Transfer-Encoding "${(te[0] as string).slice(0, 64)}"`);
  }
  if (cl.length > 1 || cl.some((v) => v.includes(','))) {
    return no('duplicate_content_length', 'more than one Content-Length');
  }
  if (cl.length === 1) {
    const v = cl[0] as string;
    if (!/^\d{1,15}$/.test(v)) return no('bad_content_length', `Content-Length "${v.slice(0, 32)}"`);
    const length = Number(v);
    if (length > i.maxBodyBytes) return no('body_too_large', `Content-Length ${length} > ${i.maxBodyBytes}`);
    return { ok: true, body: length === 0 ? { kind: 'none' } : { kind: 'length', length }, expectContinue };
  }
  return { ok: true, body: { kind: 'none' }, expectContinue };
}
