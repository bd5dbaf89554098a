/**
 * Locates and parses the quote body. v3/v4: the body follows the header, its kind given by the
 * TEE type (SGX 384 bytes, TDX TD 1.0 584 bytes). v5 (TDX DCAP Quoting Library API §A.3.3, "Quote
 * Body Descriptor"): u16 body type (1 SGX, 2 TD 1.0, 3 TD 1.5) and u32 body size precede the body.
 */
import { EvidenceParseError } from '../errors.js';
import { encodeError, u16le, u32le } from './encode-util.js';
import type { QuoteReader } from './reader.js';
import { parseSgxReportBody, SGX_REPORT_BODY_SIZE } from './sgx-report-body.js';
import { parseTdReportBody, TD10_REPORT_BODY_SIZE, TD15_REPORT_BODY_SIZE } from './td-report-body.js';
import { type QuoteBody, type QuoteHeader, TEE_TYPE_SGX, TEE_TYPE_TDX } from './types.js';

export const BODY_TYPE_SGX = 1;
export const BODY_TYPE_TD10 = 2;
export const BODY_TYPE_TD15 = 3;
export const BODY_DESCRIPTOR_SIZE = 6;

const SIZES: Record<QuoteBody['kind'], number> = {
  sgx: SGX_REPORT_BODY_SIZE,
  td10: TD10_REPORT_BODY_SIZE,
  td15: TD15_REPORT_BODY_SIZE,
};
const KIND_BY_TYPE: Record<number, QuoteBody['kind']> = {
  [BODY_TYPE_SGX]: 'sgx',
  [BODY_TYPE_TD10]: 'td10',
  [BODY_TYPE_TD15]: 'td15',
};
const TYPE_BY_KIND: Record<QuoteBody['kind'], number> = {
  sgx: BODY_TYPE_SGX,
  td10: BODY_TYPE_TD10,
  td15: BODY_TYPE_TD15,
};

function kindFor(header: QuoteHeader, r: QuoteReader): QuoteBody['kind'] {
  if (header.version !== 5) return header.teeType === TEE_TYPE_SGX ? 'sgx' : 'td10';
  const type = r.u16('body type');
  const size = r.u32('body size');
  const kind = KIND_BY_TYPE[type];
  if (kind === undefined) {
    throw new EvidenceParseError('ERR_QUOTE_BODY_TYPE', 'parse', `quote v5 body descriptor: unknown body type ${type}`);
  }
  const wantTee = kind === 'sgx' ? TEE_TYPE_SGX : TEE_TYPE_TDX;
  if (header.teeType !== wantTee) {
    throw new EvidenceParseError(
      'ERR_QUOTE_BODY_TYPE',
      'parse',
      `quote v5 body descriptor: body type ${type} does not belong to tee type 0x${header.teeType.toString(16)}`,
    );
  }
  if (size !== SIZES[kind]) {
    throw new EvidenceParseError(
      'ERR_QUOTE_LENGTH',
      'parse',
      `quote v5 body descriptor: body type ${type} has size ${size}, expected ${SIZES[kind]}`,
    );
  }
  return kind;
}

/** Reads the body (and, for v5, its descriptor). */
export function parseQuoteBody(header: QuoteHeader, r: QuoteReader): QuoteBody {
  const kind = kindFor(header, r);
  const raw = r.take(SIZES[kind], `${kind} report body`);
  if (kind === 'sgx') return { kind, report: parseSgxReportBody(raw) };
  return { kind, report: parseTdReportBody(raw) };
}

/** Body kind from an encoded body's length. */
export function bodyKindOf(tee: 'sgx' | 'tdx', body: Uint8Array): QuoteBody['kind'] {
  if (tee === 'sgx' && body.length === SGX_REPORT_BODY_SIZE) return 'sgx';
  if (tee === 'tdx' && body.length === TD10_REPORT_BODY_SIZE) return 'td10';
  if (tee === 'tdx' && body.length === TD15_REPORT_BODY_SIZE) return 'td15';
  throw encodeError(`quote body: ${body.length} bytes is not a ${tee} report body`);
}

/** The v5 body descriptor for an encoded body. */
export function encodeBodyDescriptor(kind: QuoteBody['kind']): Uint8Array {
  const out = new Uint8Array(BODY_DESCRIPTOR_SIZE);
  out.set(u16le(TYPE_BY_KIND[kind], 'body type'), 0);
  out.set(u32le(SIZES[kind], 'body size'), 2);
  return out;
}
