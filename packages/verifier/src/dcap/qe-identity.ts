/**
 * QE identity parsing (Intel PCS "Enclave Identity" v2; id QE, TD_QE or QVE). Pure; failures are
 * `CollateralError` ERR_QE_IDENTITY_MALFORMED.
 */
import type { TcbStatus } from '../result.js';
import { FieldReader } from './json-fields.js';

export const MAX_QE_IDENTITY_BYTES = 256 * 1024;

export interface QeIdentityLevel {
  isvSvn: number;
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface QeIdentity {
  id: 'QE' | 'TD_QE' | 'QVE';
  version: 2;
  issueDate: number;
  nextUpdate: number;
  tcbEvaluationDataNumber: number;
  miscSelect: number;
  miscSelectMask: number;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  mrSigner: Uint8Array;
  isvProdId: number;
  tcbLevels: QeIdentityLevel[];
}

const r: FieldReader = new FieldReader('ERR_QE_IDENTITY_MALFORMED', 'qe-identity', 'QE identity');

function u32(b: Uint8Array): number {
  // miscselect is written as the little-endian bytes of the report's u32 (Intel PCS API §QE identity).
  return ((b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24)) >>> 0;
}

/**
 * Parses the signed `enclaveIdentity` JSON object text.
 * @example const qe = parseQeIdentity(collateral.qeIdentityJson); qe.id === 'QE'
 */
export function parseQeIdentity(json: string): QeIdentity {
  const o = r.parse(json, MAX_QE_IDENTITY_BYTES);
  if (o.version !== 2) r.fail(`unsupported version ${String(o.version)} (2 is supported)`);
  const id = r.str(o.id, 'id');
  if (id !== 'QE' && id !== 'TD_QE' && id !== 'QVE') r.fail(`unknown id "${id}"`);
  const levels = r.arr(o.tcbLevels, 'tcbLevels');
  if (levels.length === 0) r.fail('tcbLevels is empty');
  return {
    id,
    version: 2,
    issueDate: r.date(o.issueDate, 'issueDate'),
    nextUpdate: r.date(o.nextUpdate, 'nextUpdate'),
    tcbEvaluationDataNumber: r.uint(o.tcbEvaluationDataNumber, 'tcbEvaluationDataNumber', 0xffffffff),
    miscSelect: u32(r.hex(o.miscselect, 'miscselect', 4)),
    miscSelectMask: u32(r.hex(o.miscselectMask, 'miscselectMask', 4)),
    attributes: r.hex(o.attributes, 'attributes', 16),
    attributesMask: r.hex(o.attributesMask, 'attributesMask', 16),
    mrSigner: r.hex(o.mrsigner, 'mrsigner', 32),
    isvProdId: r.uint(o.isvprodid, 'isvprodid'),
    tcbLevels: levels.map((lv, i) => {
      const p = `tcbLevels[${i}]`;
      const l = r.obj(lv, p);
      const tcbDate = r.str(l.tcbDate, `${p}.tcbDate`);
      return {
        isvSvn: r.uint(r.obj(l.tcb, `${p}.tcb`).isvsvn, `${p}.tcb.isvsvn`),
        tcbDate,
        tcbStatus: r.status(l.tcbStatus, `${p}.tcbStatus`),
        advisoryIds: r.advisories(l.advisoryIDs, `${p}.advisoryIDs`),
      };
    }),
  };
}
