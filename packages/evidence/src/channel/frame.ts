/**
 * The channel framing: one small, versioned, bounded frame per message, carried as TLS
 * application data right after the handshake (Node has no RFC 9261 Exported Authenticators).
 *
 *   frame  = magic "RACH" (4) | version 0x01 (1) | type (1) | length (u32 big-endian) | body
 *   hello  (type 1): CBOR map { ?1: nonce bstr(32) }           — the sender's challenge, if any
 *   answer (type 2): CBOR map { 1: [media-type tstr, evidence bstr], ?2: aux bstr }
 *   refusal (type 3): CBOR map { 1: reason tstr [a-z0-9_]{1,64} }  — server to client, then close
 *
 * The answer's key 1 is a CMW record (draft-ietf-rats-msg-wrap §3.1: `[type, value]`); the body
 * must be in CBOR core deterministic encoding (RFC 8949 §4.2.1) and is parsed once, strictly:
 * unknown keys, wrong types, indefinite lengths and trailing bytes are refused. See docs/formats.md.
 */
import { decode, encode } from 'cbor2';
import { RatlsError } from '../errors.js';

export const CHANNEL_FRAME_MAGIC = new Uint8Array([0x52, 0x41, 0x43, 0x48]);
export const CHANNEL_FRAME_VERSION = 1;
export const CHANNEL_FRAME_HEADER_BYTES = 10;
export const CHANNEL_NONCE_BYTES = 32;
/** Default bound of one frame: a DCAP quote with its PCK chain is ~5 KiB, an SNP report with its cert table ~6 KiB. */
export const DEFAULT_MAX_CHANNEL_FRAME_BYTES = 64 * 1024;
/** No configuration may raise the bound above this. */
export const MAX_CHANNEL_FRAME_BYTES = 1024 * 1024;

const TYPE_HELLO = 1;
const TYPE_ANSWER = 2;
const TYPE_REFUSAL = 3;
/** A refusal names a reason code only (`measurement_mismatch`), never an identity or a measurement. */
export const CHANNEL_REFUSAL_REASON = /^[a-z0-9_]{1,64}$/;

export type ChannelTee = 'sgx' | 'tdx' | 'sev-snp' | 'nitro';

/** CMW media types of the evidence an answer carries (ratls vendor tree; see docs/formats.md). */
export const CHANNEL_MEDIA_TYPES: Record<ChannelTee, string> = {
  sgx: 'application/vnd.ratls.sgx-quote',
  tdx: 'application/vnd.ratls.tdx-quote',
  'sev-snp': 'application/vnd.ratls.sev-snp-report',
  nitro: 'application/vnd.ratls.nitro-document',
};

export interface ChannelHello {
  type: 'hello';
  /** The sender's challenge: the peer must answer with evidence bound to this nonce. */
  nonce?: Uint8Array;
}

export interface ChannelAnswer {
  type: 'answer';
  tee: ChannelTee;
  evidence: Uint8Array;
  aux?: Uint8Array;
}

/**
 * The server's explicit refusal of this client (opt-in on the server): the reason code only, as
 * in the audit event. Sent once, right before the close; the client turns it into an
 * `AttestationRefusedError`. A client never sends one.
 */
export interface ChannelRefusal {
  type: 'refusal';
  reason: string;
}

export type ChannelMessage = ChannelHello | ChannelAnswer | ChannelRefusal;

function invalid(message: string): RatlsError {
  return new RatlsError('ERR_CHANNEL_FRAME_INVALID', 'channel', `channel frame: ${message}`);
}

/**
 * Encodes one message as a frame.
 * @example socket.write(encodeChannelFrame({ type: 'hello', nonce: randomBytes(32) }))
 */
export function encodeChannelFrame(msg: ChannelMessage): Uint8Array {
  const body = new Map<number, unknown>();
  if (msg.type === 'hello') {
    if (msg.nonce) body.set(1, msg.nonce);
  } else if (msg.type === 'refusal') {
    if (!CHANNEL_REFUSAL_REASON.test(msg.reason)) throw invalid('a refusal reason is [a-z0-9_]{1,64}');
    body.set(1, msg.reason);
  } else {
    body.set(1, [CHANNEL_MEDIA_TYPES[msg.tee], msg.evidence]);
    if (msg.aux) body.set(2, msg.aux);
  }
  const bytes = encode(body, { cde: true });
  const out = new Uint8Array(CHANNEL_FRAME_HEADER_BYTES + bytes.byteLength);
  out.set(CHANNEL_FRAME_MAGIC, 0);
  out[4] = CHANNEL_FRAME_VERSION;
  out[5] = msg.type === 'hello' ? TYPE_HELLO : msg.type === 'refusal' ? TYPE_REFUSAL : TYPE_ANSWER;
  new DataView(out.buffer).setUint32(6, bytes.byteLength);
  out.set(bytes, CHANNEL_FRAME_HEADER_BYTES);
  return out;
}

/**
 * Whether `bytes` can still be the start of a frame: 'yes' once the magic is complete, 'maybe'
 * while it is a proper prefix of it, 'no' as soon as one byte differs (application data).
 * @example startsChannelFrame(Buffer.from('GET ')) === 'no'
 */
export function startsChannelFrame(bytes: Uint8Array): 'yes' | 'maybe' | 'no' {
  const n = Math.min(bytes.byteLength, CHANNEL_FRAME_MAGIC.byteLength);
  for (let i = 0; i < n; i++) if (bytes[i] !== CHANNEL_FRAME_MAGIC[i]) return 'no';
  return n === CHANNEL_FRAME_MAGIC.byteLength ? 'yes' : 'maybe';
}

/**
 * Reads one frame from the front of `bytes`: `more` while incomplete (the header's declared length
 * is checked against `maxBytes` as soon as the header is complete, before any body arrives), else
 * the message and the bytes after it. Throws ERR_CHANNEL_FRAME_INVALID / _TOO_LARGE.
 * @example const r = readChannelFrame(buf, 65536); if (r !== 'more') handle(r.message, r.rest)
 */
export function readChannelFrame(
  bytes: Uint8Array,
  maxBytes: number = DEFAULT_MAX_CHANNEL_FRAME_BYTES,
): 'more' | { message: ChannelMessage; rest: Uint8Array } {
  const start = startsChannelFrame(bytes);
  if (start === 'no') throw invalid('does not start with the RACH magic (application data or garbage)');
  if (bytes.byteLength < CHANNEL_FRAME_HEADER_BYTES) return 'more';
  if (bytes[4] !== CHANNEL_FRAME_VERSION) throw invalid(`unsupported version ${bytes[4]}`);
  const type = bytes[5];
  if (type !== TYPE_HELLO && type !== TYPE_ANSWER && type !== TYPE_REFUSAL) throw invalid(`unknown type ${type}`);
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(6);
  const bound = Math.min(maxBytes, MAX_CHANNEL_FRAME_BYTES);
  if (CHANNEL_FRAME_HEADER_BYTES + length > bound) {
    throw new RatlsError(
      'ERR_CHANNEL_FRAME_TOO_LARGE',
      'channel',
      `channel frame: declares ${length} body bytes; the bound is ${bound - CHANNEL_FRAME_HEADER_BYTES}`,
    );
  }
  const end = CHANNEL_FRAME_HEADER_BYTES + length;
  if (bytes.byteLength < end) return 'more';
  const body = bytes.subarray(CHANNEL_FRAME_HEADER_BYTES, end);
  const message =
    type === TYPE_HELLO ? parseHello(body) : type === TYPE_REFUSAL ? parseRefusal(body) : parseAnswer(body);
  return { message, rest: bytes.subarray(end) };
}

function decodeBody(body: Uint8Array): Map<unknown, unknown> {
  let v: unknown;
  try {
    v = decode(body, { preferMap: true, rejectDuplicateKeys: true, ignoreGlobalTags: true, maxDepth: 4 });
  } catch (e) {
    throw invalid(`body is not valid CBOR (${e instanceof Error ? e.message.slice(0, 120) : 'decode failed'})`);
  }
  if (!(v instanceof Map)) throw invalid('body is not a CBOR map');
  // One encoding only: re-encoding deterministically must give the very bytes received.
  const again = encode(v, { cde: true });
  if (again.byteLength !== body.byteLength || !again.every((b, i) => b === body[i])) {
    throw invalid('body is not in CBOR core deterministic encoding');
  }
  return v;
}

function onlyKeys(m: Map<unknown, unknown>, allowed: readonly number[]): void {
  for (const k of m.keys()) if (!allowed.includes(k as number)) throw invalid(`unknown key ${String(k).slice(0, 20)}`);
}

function parseHello(body: Uint8Array): ChannelHello {
  const m = decodeBody(body);
  onlyKeys(m, [1]);
  const nonce = m.get(1);
  if (nonce === undefined) return { type: 'hello' };
  if (!(nonce instanceof Uint8Array) || nonce.byteLength !== CHANNEL_NONCE_BYTES) {
    throw invalid(`hello nonce must be a ${CHANNEL_NONCE_BYTES}-byte string`);
  }
  return { type: 'hello', nonce: new Uint8Array(nonce) };
}

function parseRefusal(body: Uint8Array): ChannelRefusal {
  const m = decodeBody(body);
  onlyKeys(m, [1]);
  const reason = m.get(1);
  if (typeof reason !== 'string' || !CHANNEL_REFUSAL_REASON.test(reason))
    throw invalid('refusal key 1 must be a reason code [a-z0-9_]{1,64}');
  return { type: 'refusal', reason };
}

function parseAnswer(body: Uint8Array): ChannelAnswer {
  const m = decodeBody(body);
  onlyKeys(m, [1, 2]);
  const cmw = m.get(1);
  if (!Array.isArray(cmw) || cmw.length !== 2) throw invalid('answer key 1 must be a CMW record [type, value]');
  const [mediaType, value] = cmw as [unknown, unknown];
  const tee = (Object.keys(CHANNEL_MEDIA_TYPES) as ChannelTee[]).find((t) => CHANNEL_MEDIA_TYPES[t] === mediaType);
  if (!tee) throw invalid(`unknown CMW media type ${JSON.stringify(String(mediaType).slice(0, 64))}`);
  if (!(value instanceof Uint8Array) || value.byteLength === 0)
    throw invalid('CMW value must be a non-empty byte string');
  const aux = m.get(2);
  if (aux !== undefined && !(aux instanceof Uint8Array)) throw invalid('answer aux must be a byte string');
  const out: ChannelAnswer = { type: 'answer', tee, evidence: new Uint8Array(value) };
  if (aux instanceof Uint8Array) out.aux = new Uint8Array(aux);
  return out;
}
