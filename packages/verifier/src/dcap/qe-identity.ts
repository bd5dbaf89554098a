/**
 * The QE identity step, all of it (Intel PCS "Enclave Identity" v2; QVL
 * `sgxAttestationVerifyEnclaveIdentity` and `EnclaveReportVerifier`), in the order it runs:
 * 1. `verifyQeIdentity`: the TCB signing chain and the signature over the exact signed JSON
 *    (shared with TCB info: `signed-json.ts`), then `parseQeIdentity` (strict; ERR_QE_IDENTITY_MALFORMED)
 *    and the issueDate/nextUpdate window at `at` (cached with the collateral until nextUpdate);
 * 2. per quote, `checkQeIdentityTee`: id QE for an SGX quote, TD_QE for TDX (QVL 4.1.2.4.14);
 * 3. per quote, `matchQeIdentity`: the QE report against it (QVL 4.1.2.9.5–4.1.2.9.10) → the
 *    QE's TCB level.
 * The QE report's own checks (PCK signature, report data) are `qe-report.ts`.
 */
import { AppraisalError, bytesEqual, CollateralError, type SgxReportBody, toHex } from '@ratls/evidence';
import type { DcapCollateral } from '../collateral/types.js';
import { sealBuilt } from '../freeze.js';
import type { VerifiedChain } from '../pki/chain.js';
import type { TcbStatus } from '../result.js';
import type { TrustAnchor } from '../trust.js';
import { FieldReader } from './json-fields.js';
import { type VerifiedRootCrl, verifySignedCollateral } from './signed-json.js';

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

function qeLevel(lv: unknown, i: number): QeIdentityLevel {
  const l = r.obj(lv, 'tcbLevels[#]', i);
  const tcbDate = r.str(l.tcbDate, 'tcbLevels[#].tcbDate', i);
  return Object.freeze({
    isvSvn: r.uint(r.obj(l.tcb, 'tcbLevels[#].tcb', i).isvsvn, 'tcbLevels[#].tcb.isvsvn', 0xffff, i),
    tcbDate,
    tcbStatus: r.status(l.tcbStatus, 'tcbLevels[#].tcbStatus', i),
    advisoryIds: Object.freeze(r.advisories(l.advisoryIDs, 'tcbLevels[#].advisoryIDs', i)) as string[],
  });
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
  // Frozen as built and sealed (freeze.ts `sealBuilt`): the verified-collateral registry skips it.
  return sealBuilt({
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
    tcbLevels: Object.freeze(levels.map(qeLevel)) as QeIdentityLevel[],
  });
}

/**
 * Step 1 (QVL `sgxAttestationVerifyEnclaveIdentity`): QE identity chain (the same TCB Signing
 * role as TCB info) and signature over the exact JSON text, then parse and validity at `at`.
 * Codes as `verifyTcbInfo`, ERR_QE_IDENTITY_SIGNATURE, ERR_QE_IDENTITY_MALFORMED,
 * ERR_COLLATERAL_EXPIRED.
 * @example const { qeIdentity } = verifyQeIdentity(collateralFromJson(text), defaultTrustAnchors(), at)
 */
export function verifyQeIdentity(
  c: DcapCollateral,
  anchors: readonly TrustAnchor[],
  at: number,
  chain?: VerifiedChain,
  rootCrl?: VerifiedRootCrl,
): { qeIdentity: QeIdentity; chain: VerifiedChain; rootCrl: VerifiedRootCrl } {
  // QVL sgxAttestationVerifyEnclaveIdentity: the chain and signature first, then the content.
  const v = verifySignedCollateral(
    {
      json: c.qeIdentityJson,
      signature: c.qeIdentitySignature,
      issuerChainPem: c.qeIdentityIssuerChainPem,
      parse: parseQeIdentity,
      step: 'qe-identity',
      what: 'QE identity',
      code: 'ERR_QE_IDENTITY_SIGNATURE',
    },
    { anchors, at, rootCaCrl: c.rootCaCrl, chain, rootCrl },
  );
  return { qeIdentity: v.value, chain: v.chain, rootCrl: v.rootCrl };
}

/** Step 2 (QVL 4.1.2.4.14): the identity is the quoting enclave of this TEE. Code: ERR_QE_IDENTITY_TEE_MISMATCH. */
export function checkQeIdentityTee(qe: QeIdentity, tee: 'sgx' | 'tdx'): void {
  const want = tee === 'tdx' ? 'TD_QE' : 'QE';
  if (qe.id !== want) {
    throw new CollateralError(
      'ERR_QE_IDENTITY_TEE_MISMATCH',
      'qe-identity-match',
      `QE identity id is ${qe.id}, but a ${tee.toUpperCase()} quote needs ${want}`,
    );
  }
}

// A module function rather than a closure made on every match.
function fail(what: string): never {
  throw new AppraisalError(
    'ERR_QE_IDENTITY_MISMATCH',
    'qe-identity-match',
    `QE report does not match the QE identity: ${what}`,
  );
}

/**
 * Step 3 (QVL `EnclaveReportVerifier::verify`): matches the QE report against the QE identity and
 * returns the first TCB level whose ISVSVN the QE meets (its status is a fact for policy, not a
 * failure here). Codes: ERR_QE_IDENTITY_MISMATCH, ERR_TCB_NOT_SUPPORTED (step qe-identity-match).
 */
export function matchQeIdentity(qeReport: SgxReportBody, qe: QeIdentity): QeIdentityLevel {
  // QVL 4.1.2.9.5: MISCSELECT under the mask.
  if ((qeReport.miscSelect & qe.miscSelectMask) >>> 0 !== qe.miscSelect >>> 0) fail('MISCSELECT differs');
  // QVL 4.1.2.9.6: ATTRIBUTES under the mask.
  for (let i = 0; i < 16; i++) {
    const m = qe.attributesMask[i] as number;
    if (((qeReport.attributes[i] as number) & m) !== ((qe.attributes[i] as number) & m)) fail('ATTRIBUTES differ');
  }
  // QVL 4.1.2.9.7: MRSIGNER.
  if (!bytesEqual(qeReport.mrSigner, qe.mrSigner)) {
    fail(`MRSIGNER ${toHex(qeReport.mrSigner)} is not ${toHex(qe.mrSigner)}`);
  }
  // QVL 4.1.2.9.8: ISVPRODID.
  if (qeReport.isvProdId !== qe.isvProdId) fail(`ISVPRODID ${qeReport.isvProdId} is not ${qe.isvProdId}`);
  // QVL 4.1.2.9.9–4.1.2.9.10: the first level the QE's ISVSVN meets; none is "not supported".
  const level = qe.tcbLevels.find((l) => qeReport.isvSvn >= l.isvSvn);
  if (!level) {
    throw new AppraisalError(
      'ERR_TCB_NOT_SUPPORTED',
      'qe-identity-match',
      `QE ISVSVN ${qeReport.isvSvn} is below every TCB level of the QE identity`,
    );
  }
  return level;
}
