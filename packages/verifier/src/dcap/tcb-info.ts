/**
 * TCB info parsing (Intel PCS API v3/v4 "TCB Info" v2 and v3; SGX and TDX). Pure: JSON text in,
 * typed structure out; failures are `CollateralError` ERR_TCB_INFO_MALFORMED.
 */

import { sealBuilt } from '../freeze.js';
import type { TcbStatus } from '../result.js';
import { FieldReader, type Obj } from './json-fields.js';

/** Largest TCB info JSON accepted (real ones are 5 to 30 KiB). */
export const MAX_TCB_INFO_BYTES = 1024 * 1024;

export interface TcbLevel {
  /** 16 SGX TCB component SVNs. */
  sgxComponents: number[];
  pceSvn: number;
  /** 16 TDX TCB component SVNs (TDX TCB info only). */
  tdxComponents?: number[];
  tcbDate: string;
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

export interface TdxModule {
  mrSigner: Uint8Array;
  attributes: Uint8Array;
  attributesMask: Uint8Array;
}

export interface TdxModuleIdentity extends TdxModule {
  id: string;
  tcbLevels: { isvSvn: number; tcbDate: string; tcbStatus: TcbStatus; advisoryIds: string[] }[];
}

export interface TcbInfo {
  id: 'SGX' | 'TDX';
  version: 2 | 3;
  issueDate: number;
  nextUpdate: number;
  fmspc: Uint8Array;
  pceId: Uint8Array;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  tcbLevels: TcbLevel[];
  tdxModule?: TdxModule;
  tdxModuleIdentities?: TdxModuleIdentity[];
}

const V2_KEYS = Array.from({ length: 16 }, (_, k) => `sgxtcbcomp${String(k + 1).padStart(2, '0')}svn`);

const r: FieldReader = new FieldReader('ERR_TCB_INFO_MALFORMED', 'tcb-info', 'TCB info');

// Hot loop (16 components × levels): validate inline and build the path text only on failure
// (no closure per call either). Every container is frozen as it is built and the whole value is
// `sealBuilt`, so the verified-collateral registry does not walk the levels again.
function components(v: unknown, level: number, name: string): number[] {
  if (!Array.isArray(v) || v.length !== 16) r.fail(`tcbLevels[${level}].tcb.${name} must be an array of 16 entries`);
  const out = new Array<number>(16);
  for (let i = 0; i < 16; i++) {
    const c: unknown = v[i];
    const svn = typeof c === 'object' && c !== null ? (c as { svn?: unknown }).svn : undefined;
    if (typeof svn !== 'number' || !Number.isInteger(svn) || svn < 0 || svn > 255) {
      r.fail(`tcbLevels[${level}].tcb.${name}[${i}].svn must be an integer in 0..255`);
    }
    out[i] = svn;
  }
  return Object.freeze(out) as number[];
}

function level(v: unknown, i: number, version: 2 | 3, tdx: boolean): TcbLevel {
  const l = r.obj(v, 'tcbLevels[#]', i);
  const tcb = r.obj(l.tcb, 'tcbLevels[#].tcb', i);
  let sgxComponents: number[];
  let tdxComponents: number[] | undefined;
  if (version === 2) {
    sgxComponents = Object.freeze(V2_KEYS.map((key) => r.uint(tcb[key], key, 255))) as number[];
  } else {
    sgxComponents = components(tcb.sgxtcbcomponents, i, 'sgxtcbcomponents');
    if (tdx) tdxComponents = components(tcb.tdxtcbcomponents, i, 'tdxtcbcomponents');
  }
  const tcbDate = r.str(l.tcbDate, 'tcbLevels[#].tcbDate', i);
  r.date(tcbDate, 'tcbLevels[#].tcbDate', i);
  return Object.freeze({
    sgxComponents,
    pceSvn: r.uint(tcb.pcesvn, 'tcbLevels[#].tcb.pcesvn', 0xffff, i),
    ...(tdxComponents ? { tdxComponents } : {}),
    tcbDate,
    tcbStatus: r.status(l.tcbStatus, 'tcbLevels[#].tcbStatus', i),
    advisoryIds: Object.freeze(r.advisories(l.advisoryIDs, 'tcbLevels[#].advisoryIDs', i)) as string[],
  });
}

function tdxModule(v: Obj, path: string): TdxModule {
  // Byte arrays are typed arrays: they cannot be frozen and are never walked (freeze.ts).
  return {
    mrSigner: r.hex(v.mrsigner, `${path}.mrsigner`, 48),
    attributes: r.hex(v.attributes, `${path}.attributes`, 8),
    attributesMask: r.hex(v.attributesMask, `${path}.attributesMask`, 8),
  };
}

function moduleIdentity(v: unknown, i: number): TdxModuleIdentity {
  const path = `tdxModuleIdentities[${i}]`;
  const o = r.obj(v, path);
  return Object.freeze({
    id: r.str(o.id, `${path}.id`),
    ...tdxModule(o, path),
    tcbLevels: Object.freeze(
      r.arr(o.tcbLevels, `${path}.tcbLevels`).map((lv, j) => {
        const lp = `${path}.tcbLevels[${j}]`;
        const l = r.obj(lv, lp);
        const tcbDate = r.str(l.tcbDate, `${lp}.tcbDate`);
        return Object.freeze({
          isvSvn: r.uint(r.obj(l.tcb, `${lp}.tcb`).isvsvn, `${lp}.tcb.isvsvn`),
          tcbDate,
          tcbStatus: r.status(l.tcbStatus, `${lp}.tcbStatus`),
          advisoryIds: Object.freeze(r.advisories(l.advisoryIDs, `${lp}.advisoryIDs`)) as string[],
        });
      }),
    ) as TdxModuleIdentity['tcbLevels'],
  });
}

/**
 * Parses the signed `tcbInfo` JSON object text.
 * @example const info = parseTcbInfo(collateral.tcbInfoJson); info.tcbLevels[0].tcbStatus
 */
export function parseTcbInfo(json: string): TcbInfo {
  const o = r.parse(json, MAX_TCB_INFO_BYTES);
  const version = o.version;
  if (version !== 2 && version !== 3) r.fail(`unsupported version ${String(version)} (2 and 3 are supported)`);
  let id: 'SGX' | 'TDX' = 'SGX';
  if (version === 3) {
    const s = r.str(o.id, 'id');
    if (s !== 'SGX' && s !== 'TDX') r.fail(`unknown id "${s}"`);
    id = s;
  } else if (o.id !== undefined) r.fail('version 2 has no id');
  const tdx = id === 'TDX';
  const levels = r.arr(o.tcbLevels, 'tcbLevels');
  if (levels.length === 0) r.fail('tcbLevels is empty');
  const tcbType = r.uint(o.tcbType, 'tcbType');
  const info: TcbInfo = {
    id,
    version,
    issueDate: r.date(o.issueDate, 'issueDate'),
    nextUpdate: r.date(o.nextUpdate, 'nextUpdate'),
    fmspc: r.hex(o.fmspc, 'fmspc', 6),
    pceId: r.hex(o.pceId, 'pceId', 2),
    tcbType,
    tcbEvaluationDataNumber: r.uint(o.tcbEvaluationDataNumber, 'tcbEvaluationDataNumber', 0xffffffff),
    tcbLevels: Object.freeze(levels.map((l, i) => level(l, i, version, tdx))) as TcbLevel[],
  };
  // Intel TCB info tcbType 0 is the only defined type (components compared one by one).
  if (info.tcbType !== 0) r.fail(`unsupported tcbType ${info.tcbType}`);
  if (tdx) {
    if (o.tdxModule !== undefined) {
      info.tdxModule = Object.freeze(tdxModule(r.obj(o.tdxModule, 'tdxModule'), 'tdxModule'));
    }
    if (o.tdxModuleIdentities !== undefined) {
      info.tdxModuleIdentities = Object.freeze(
        r.arr(o.tdxModuleIdentities, 'tdxModuleIdentities', 64).map(moduleIdentity),
      ) as TdxModuleIdentity[];
    }
  }
  return sealBuilt(info);
}
