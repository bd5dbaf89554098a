/**
 * The TD report body in a TDX quote (Intel TDX DCAP Quoting Library API §A.3.2, "TD Quote Body"):
 * 584 bytes for TD 1.0 (quote v4, v5 body type 2); TD 1.5 (v5 body type 3) appends
 * TEE_TCB_SVN2 (16) and MR_SERVICETD (48) for 648 bytes.
 */
import { EvidenceParseError } from '../errors.js';
import { encodeError, putBytes } from './encode-util.js';
import { plainBytes } from './reader.js';
import type { TdReportBody } from './types.js';

export const TD10_REPORT_BODY_SIZE = 584;
export const TD15_REPORT_BODY_SIZE = 648;
export const TD_OFFSET_TEE_TCB_SVN = 0; // 16
export const TD_OFFSET_MR_SEAM = 16; // 48
export const TD_OFFSET_MR_SIGNER_SEAM = 64; // 48
export const TD_OFFSET_SEAM_ATTRIBUTES = 112; // 8
export const TD_OFFSET_TD_ATTRIBUTES = 120; // 8
export const TD_OFFSET_XFAM = 128; // 8
export const TD_OFFSET_MR_TD = 136; // 48
export const TD_OFFSET_MR_CONFIG_ID = 184; // 48
export const TD_OFFSET_MR_OWNER = 232; // 48
export const TD_OFFSET_MR_OWNER_CONFIG = 280; // 48
export const TD_OFFSET_RTMR0 = 328; // 4 × 48
export const TD_OFFSET_REPORT_DATA = 520; // 64
export const TD_OFFSET_TEE_TCB_SVN2 = 584; // 16, TD 1.5
export const TD_OFFSET_MR_SERVICE_TD = 600; // 48, TD 1.5
const MR = 48;

/** TD_ATTRIBUTES bit 0 (TUD.DEBUG): the TD is debuggable (TDX Module ABI spec, TDINFO_STRUCT). */
export const TD_ATTRIBUTES_DEBUG_BIT = 0x01;

/** A copy of `n` bytes at `off` (a module function: no closure per parse). */
function copyAt(raw: Uint8Array, off: number, n: number): Uint8Array {
  return raw.slice(off, off + n);
}

/**
 * Parses a TD report body of exactly 584 (TD 1.0) or 648 (TD 1.5) bytes.
 * @example parseTdReportBody(encodeTdReportBody({ mrTd })).mrTd
 */
export function parseTdReportBody(input: Uint8Array, what = 'td report body'): TdReportBody {
  const raw = plainBytes(input);
  if (raw.length !== TD10_REPORT_BODY_SIZE && raw.length !== TD15_REPORT_BODY_SIZE) {
    throw new EvidenceParseError(
      'ERR_QUOTE_LENGTH',
      'parse',
      `${what}: ${raw.length} bytes, expected ${TD10_REPORT_BODY_SIZE} or ${TD15_REPORT_BODY_SIZE}`,
    );
  }
  // Length checked above: every fixed offset below lies inside `raw`.
  const body: TdReportBody = {
    teeTcbSvn: copyAt(raw, TD_OFFSET_TEE_TCB_SVN, 16),
    mrSeam: copyAt(raw, TD_OFFSET_MR_SEAM, MR),
    mrSignerSeam: copyAt(raw, TD_OFFSET_MR_SIGNER_SEAM, MR),
    seamAttributes: copyAt(raw, TD_OFFSET_SEAM_ATTRIBUTES, 8),
    tdAttributes: copyAt(raw, TD_OFFSET_TD_ATTRIBUTES, 8),
    xfam: copyAt(raw, TD_OFFSET_XFAM, 8),
    mrTd: copyAt(raw, TD_OFFSET_MR_TD, MR),
    mrConfigId: copyAt(raw, TD_OFFSET_MR_CONFIG_ID, MR),
    mrOwner: copyAt(raw, TD_OFFSET_MR_OWNER, MR),
    mrOwnerConfig: copyAt(raw, TD_OFFSET_MR_OWNER_CONFIG, MR),
    rtmr: [
      copyAt(raw, TD_OFFSET_RTMR0, MR),
      copyAt(raw, TD_OFFSET_RTMR0 + MR, MR),
      copyAt(raw, TD_OFFSET_RTMR0 + 2 * MR, MR),
      copyAt(raw, TD_OFFSET_RTMR0 + 3 * MR, MR),
    ],
    reportData: copyAt(raw, TD_OFFSET_REPORT_DATA, 64),
    raw: raw.slice(),
  };
  if (raw.length === TD15_REPORT_BODY_SIZE) {
    body.teeTcbSvn2 = copyAt(raw, TD_OFFSET_TEE_TCB_SVN2, 16);
    body.mrServiceTd = copyAt(raw, TD_OFFSET_MR_SERVICE_TD, MR);
  }
  return body;
}

/**
 * True when TD_ATTRIBUTES has the DEBUG bit.
 * @example if (q.body.kind !== 'sgx' && isTdDebug(q.body.report)) console.log('debug TD')
 */
export function isTdDebug(body: Pick<TdReportBody, 'tdAttributes'>): boolean {
  return ((body.tdAttributes[0] ?? 0) & TD_ATTRIBUTES_DEBUG_BIT) !== 0;
}

export type TdReportBodyFields = Partial<Omit<TdReportBody, 'raw' | 'rtmr'>> & {
  rtmr?: readonly Uint8Array[];
  /** 'td15' appends TEE_TCB_SVN2 and MR_SERVICETD; defaults to 'td15' when either is given. */
  kind?: 'td10' | 'td15';
};

/**
 * Encodes a TD report body; omitted fields are zero.
 * @example encodeTdReportBody({ mrTd: new Uint8Array(48).fill(7) }).length === 584
 */
export function encodeTdReportBody(f: TdReportBodyFields): Uint8Array {
  const kind = f.kind ?? (f.teeTcbSvn2 || f.mrServiceTd ? 'td15' : 'td10');
  if (kind === 'td10' && (f.teeTcbSvn2 || f.mrServiceTd)) {
    throw encodeError('td report body: teeTcbSvn2/mrServiceTd exist only in a TD 1.5 body');
  }
  const out = new Uint8Array(kind === 'td15' ? TD15_REPORT_BODY_SIZE : TD10_REPORT_BODY_SIZE);
  putBytes(out, TD_OFFSET_TEE_TCB_SVN, 16, f.teeTcbSvn, 'teeTcbSvn');
  putBytes(out, TD_OFFSET_MR_SEAM, MR, f.mrSeam, 'mrSeam');
  putBytes(out, TD_OFFSET_MR_SIGNER_SEAM, MR, f.mrSignerSeam, 'mrSignerSeam');
  putBytes(out, TD_OFFSET_SEAM_ATTRIBUTES, 8, f.seamAttributes, 'seamAttributes');
  putBytes(out, TD_OFFSET_TD_ATTRIBUTES, 8, f.tdAttributes, 'tdAttributes');
  putBytes(out, TD_OFFSET_XFAM, 8, f.xfam, 'xfam');
  putBytes(out, TD_OFFSET_MR_TD, MR, f.mrTd, 'mrTd');
  putBytes(out, TD_OFFSET_MR_CONFIG_ID, MR, f.mrConfigId, 'mrConfigId');
  putBytes(out, TD_OFFSET_MR_OWNER, MR, f.mrOwner, 'mrOwner');
  putBytes(out, TD_OFFSET_MR_OWNER_CONFIG, MR, f.mrOwnerConfig, 'mrOwnerConfig');
  const rtmr = f.rtmr ?? [];
  if (rtmr.length > 4) throw encodeError(`td report body: ${rtmr.length} RTMRs given, at most 4`);
  for (const [i, m] of rtmr.entries()) putBytes(out, TD_OFFSET_RTMR0 + i * MR, MR, m, `rtmr${i}`);
  putBytes(out, TD_OFFSET_REPORT_DATA, 64, f.reportData, 'reportData');
  if (kind === 'td15') {
    putBytes(out, TD_OFFSET_TEE_TCB_SVN2, 16, f.teeTcbSvn2, 'teeTcbSvn2');
    putBytes(out, TD_OFFSET_MR_SERVICE_TD, MR, f.mrServiceTd, 'mrServiceTd');
  }
  return out;
}
