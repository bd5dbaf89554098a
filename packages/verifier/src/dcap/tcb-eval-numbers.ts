/**
 * Intel's signed TCB evaluation data numbers (PCS API v4 `GET {sgx|tdx}/certification/v4/
 * tcbevaluationdatanumbers`, model "TcbEvaluationDataNumbers v1"): for each TCB recovery still
 * supported, its `tcbEvaluationDataNumber`, the `tcbRecoveryEventDate` (the day Intel announced
 * the recovery) and the `tcbDate` of the levels it introduced. Body
 * `{"tcbEvaluationDataNumbers":{…},"signature":"<r‖s hex>"}`, signed by the TCB Signing
 * certificate (header `TCB-Evaluation-Data-Numbers-Issuer-Chain`), checked here exactly like TCB
 * info: the signer in its role, chained to the pinned root, not revoked, signature over the exact
 * text, issueDate <= at <= nextUpdate.
 *
 * The grace window after a recovery is anchored on it: the recovery that demoted a platform's
 * level is the one whose `tcbDate` is the date of the next newer level in the signed TCB info,
 * and its `tcbRecoveryEventDate` starts the window.
 */
import { CollateralError } from '@ratls/evidence';
import { extractSignedJson } from '../collateral/signed-json.js';
import { atSeconds } from '../time.js';
import type { TrustAnchor } from '../trust.js';
import { FieldReader } from './json-fields.js';
import { verifySignedCollateral } from './signed-json.js';

/** One TCB recovery Intel still supports. Dates are Unix seconds. */
export interface TcbEvalNumber {
  tcbEvaluationDataNumber: number;
  tcbRecoveryEventDate: number;
  tcbDate: number;
}

export interface TcbEvaluationDataNumbers {
  id: 'SGX' | 'TDX';
  version: 1;
  issueDate: number;
  nextUpdate: number;
  tcbEvalNumbers: TcbEvalNumber[];
}

/** Intel lists a few dozen recoveries at most; a longer list is not Intel's. */
const MAX_ENTRIES = 256;
const MAX_JSON_BYTES = 64 * 1024;
const r: FieldReader = new FieldReader('ERR_TCB_EVAL_NUMBERS_MALFORMED', 'tcb-info', 'TCB evaluation data numbers');

/**
 * Parses the signed `tcbEvaluationDataNumbers` object text (no signature check: see
 * `verifyTcbEvaluationDataNumbers`).
 * @example parseTcbEvaluationDataNumbers(json).tcbEvalNumbers[0].tcbEvaluationDataNumber // 20
 */
export function parseTcbEvaluationDataNumbers(json: string): TcbEvaluationDataNumbers {
  const o = r.parse(json, MAX_JSON_BYTES);
  const s = r.str(o.id, 'id');
  if (s !== 'SGX' && s !== 'TDX') r.fail(`unknown id "${s}"`);
  const id: 'SGX' | 'TDX' = s;
  if (o.version !== 1) r.fail(`unsupported version ${String(o.version)} (1 is supported)`);
  const list = r.arr(o.tcbEvalNumbers, 'tcbEvalNumbers', MAX_ENTRIES);
  return {
    id,
    version: 1,
    issueDate: r.date(o.issueDate, 'issueDate'),
    nextUpdate: r.date(o.nextUpdate, 'nextUpdate'),
    tcbEvalNumbers: list.map((e, i) => {
      const x = r.obj(e, 'tcbEvalNumbers[#]', i);
      return {
        tcbEvaluationDataNumber: r.uint(
          x.tcbEvaluationDataNumber,
          'tcbEvalNumbers[#].tcbEvaluationDataNumber',
          0xffffffff,
          i,
        ),
        tcbRecoveryEventDate: r.date(x.tcbRecoveryEventDate, 'tcbEvalNumbers[#].tcbRecoveryEventDate', i),
        tcbDate: r.date(x.tcbDate, 'tcbEvalNumbers[#].tcbDate', i),
      };
    }),
  };
}

/** The PCS response: the body as received and the issuer chain (PEM, already URL-decoded). */
export interface TcbEvaluationDataNumbersResponse {
  body: string;
  issuerChainPem: string;
}

/**
 * Verifies a PCS `tcbevaluationdatanumbers` response for `tee` at `at` against `anchors` and the
 * Root CA CRL. Codes: ERR_COLLATERAL_MALFORMED (body), ERR_TCB_SIGNER_ROLE / ERR_TCB_SIGNER_REVOKED
 * / ERR_CERT_* (chain), ERR_TCB_EVAL_NUMBERS_SIGNATURE, ERR_TCB_EVAL_NUMBERS_MALFORMED (fields or
 * another TEE), ERR_COLLATERAL_EXPIRED (window).
 * @example
 * const n = verifyTcbEvaluationDataNumbers(res, { tee: 'sgx', anchors: [intelSgxRootCa()], rootCaCrl, at: new Date() })
 */
export function verifyTcbEvaluationDataNumbers(
  res: TcbEvaluationDataNumbersResponse,
  o: { tee: 'sgx' | 'tdx'; anchors: readonly TrustAnchor[]; rootCaCrl: Uint8Array; at: Date | number },
): TcbEvaluationDataNumbers {
  const { json, signature } = extractSignedJson(res.body, 'tcbEvaluationDataNumbers');
  const { value } = verifySignedCollateral(
    {
      json,
      signature,
      issuerChainPem: res.issuerChainPem,
      parse: parseTcbEvaluationDataNumbers,
      step: 'tcb-info',
      what: 'TCB evaluation data numbers',
      code: 'ERR_TCB_EVAL_NUMBERS_SIGNATURE',
    },
    { anchors: o.anchors, at: atSeconds(o.at, 'tcb-info'), rootCaCrl: o.rootCaCrl },
  );
  const want = o.tee === 'sgx' ? 'SGX' : 'TDX';
  if (value.id !== want) r.fail(`id ${value.id} is not ${want}: these numbers are for another TEE`);
  return value;
}

/**
 * The recovery that demoted a level: the entry whose signed `tcbDate` is the date of the next
 * newer level in the TCB info (`tcbRecoveryDate` in the result, Unix seconds). Throws
 * ERR_TCB_EVAL_NUMBER_MISSING when Intel's list has no such recovery (fail closed: no grace).
 * @example demotingRecovery(numbers, Date.parse('2025-08-13T00:00:00Z') / 1000).tcbRecoveryEventDate
 */
export function demotingRecovery(n: TcbEvaluationDataNumbers, newerLevelTcbDate: number): TcbEvalNumber {
  const hit = n.tcbEvalNumbers.find((e) => e.tcbDate === newerLevelTcbDate);
  if (!hit) {
    throw new CollateralError(
      'ERR_TCB_EVAL_NUMBER_MISSING',
      'tcb-info',
      `TCB evaluation data numbers: no recovery with tcbDate ${new Date(newerLevelTcbDate * 1000).toISOString()} (the level that demoted the platform); the grace window has no signed anchor`,
    );
  }
  return hit;
}
