/**
 * CRL normalization for collateral sources: PCS/PCCS hand out CRLs as DER (`encoding=der`), PEM
 * (the PCS default) or hex text (PCCS `rootcacrl`, QuoteCollateralV3 JSON). Everything becomes
 * DER bytes, and we read `nextUpdate` (RFC 5280 §5.1.2.5) with a small bounded DER walk so the
 * cache knows when the CRL stops being usable. No signature is checked here: the appraiser does.
 */
import { CollateralError } from '@ratls/evidence';

/** Largest CRL accepted. Intel's PCK Platform CA CRL is ~3 KiB today; leave room to grow. */
export const MAX_CRL_BYTES = 2 * 1024 * 1024;

const PEM_RE = /^-----BEGIN X509 CRL-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END X509 CRL-----\s*$/;
const HEX_RE = /^(?:0x)?[0-9a-fA-F]+$/;

function bad(what: string, detail: string): CollateralError {
  return new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: ${detail}`);
}

interface Tlv {
  tag: number;
  /** Offset of the content. */
  start: number;
  /** Offset just past the content. */
  end: number;
}

/** One DER TLV at `off`, bounded by `limit`. Only low tag numbers and definite lengths (X.690 §8.1). */
function tlv(b: Uint8Array, off: number, limit: number, what: string): Tlv {
  if (off + 2 > limit) throw bad(what, `DER truncated at offset ${off}`);
  const tag = b[off] as number;
  if ((tag & 0x1f) === 0x1f) throw bad(what, `unsupported high tag number at offset ${off}`);
  let len = b[off + 1] as number;
  let p = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw bad(what, `unsupported DER length form at offset ${off}`);
    if (p + n > limit) throw bad(what, `DER length truncated at offset ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (b[p + i] as number);
    p += n;
  }
  if (p + len > limit) throw bad(what, `DER element at offset ${off} runs past its container`);
  return { tag, start: p, end: p + len };
}

/** UTCTime / GeneralizedTime in DER form (always `Z`, seconds present; RFC 5280 §4.1.2.5). */
function derTime(b: Uint8Array, t: Tlv, what: string): number {
  const s = Buffer.from(b.subarray(t.start, t.end)).toString('latin1');
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw bad(what, `time "${s}" is not a DER UTCTime/GeneralizedTime`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year >= 50 ? 1900 : 2000;
  const ms = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (!Number.isFinite(ms)) throw bad(what, `time "${s}" is out of range`);
  return ms;
}

/**
 * Reads `thisUpdate` and `nextUpdate` (ms since epoch) from a DER CRL and checks that the outer
 * structure spans the whole input.
 * @example const { nextUpdate } = crlTimes(der, 'PCK CRL')
 */
export function crlTimes(der: Uint8Array, what = 'CRL'): { thisUpdate: number; nextUpdate: number } {
  const outer = tlv(der, 0, der.length, what);
  if (outer.tag !== 0x30 || outer.end !== der.length) throw bad(what, 'not a single DER SEQUENCE');
  const tbs = tlv(der, outer.start, outer.end, what);
  if (tbs.tag !== 0x30) throw bad(what, 'tbsCertList is not a SEQUENCE');
  let p = tbs.start;
  let el = tlv(der, p, tbs.end, what);
  if (el.tag === 0x02) {
    p = el.end; // optional version
    el = tlv(der, p, tbs.end, what);
  }
  if (el.tag !== 0x30) throw bad(what, 'signature AlgorithmIdentifier missing');
  el = tlv(der, el.end, tbs.end, what);
  if (el.tag !== 0x30) throw bad(what, 'issuer Name missing');
  el = tlv(der, el.end, tbs.end, what);
  if (el.tag !== 0x17 && el.tag !== 0x18) throw bad(what, 'thisUpdate missing');
  const thisUpdate = derTime(der, el, what);
  if (el.end >= tbs.end) throw bad(what, 'nextUpdate missing (Intel CRLs always carry one)');
  el = tlv(der, el.end, tbs.end, what);
  if (el.tag !== 0x17 && el.tag !== 0x18) throw bad(what, 'nextUpdate missing (Intel CRLs always carry one)');
  return { thisUpdate, nextUpdate: derTime(der, el, what) };
}

/**
 * DER, PEM or hex text → DER bytes, checked to be one well-formed CRL with a nextUpdate.
 * @example normalizeCrl(await res.arrayBuffer(), 'PCK CRL')
 */
export function normalizeCrl(input: Uint8Array | string, what = 'CRL'): Uint8Array {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size === 0) throw bad(what, 'empty');
  if (size > MAX_CRL_BYTES * 2 + 1024) {
    throw new CollateralError('ERR_COLLATERAL_TOO_LARGE', 'collateral', `${what}: ${size} bytes exceeds the limit`);
  }
  let der: Uint8Array;
  if (typeof input !== 'string' && input[0] === 0x30) {
    der = input;
  } else {
    const text = (typeof input === 'string' ? input : Buffer.from(input).toString('latin1')).trim();
    const pem = PEM_RE.exec(text);
    if (pem) der = new Uint8Array(Buffer.from((pem[1] as string).replace(/\s+/g, ''), 'base64'));
    else if (HEX_RE.test(text) && text.length % 2 === 0)
      der = new Uint8Array(Buffer.from(text.replace(/^0x/, ''), 'hex'));
    else throw bad(what, 'neither DER, PEM ("-----BEGIN X509 CRL-----") nor hex');
  }
  if (der.length > MAX_CRL_BYTES) {
    throw new CollateralError(
      'ERR_COLLATERAL_TOO_LARGE',
      'collateral',
      `${what}: ${der.length} bytes exceeds ${MAX_CRL_BYTES}`,
    );
  }
  crlTimes(der, what);
  return der;
}
