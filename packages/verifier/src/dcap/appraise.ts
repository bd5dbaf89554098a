/**
 * The quote-specific half of DCAP appraisal, in Intel QVL's order (QuoteVerifier::verify): given a
 * parsed quote, its verified PCK chain and verified collateral, check revocation, collateral
 * match, TDX module, QE report, QE identity, quote signature and TCB level, then build the result.
 */
import type { KeyObject } from 'node:crypto';
import {
  AppraisalError,
  CollateralError,
  isSgxDebug,
  isTdDebug,
  type Quote,
  type SgxReportBody,
  type TdReportBody,
  toHex,
} from '@ratls/evidence';
import { type DcapResult, markVerified, type SgxResult, type TcbStatus, type TdxResult } from '../result.js';
import { checkTcbInfoMatches } from './collateral-match.js';
import type { VerifiedPck } from './pck-chain.js';
import { checkQeIdentityTee, matchQeIdentity } from './qe-identity.js';
import { checkQeReportData, verifyQeReportSignature } from './qe-report.js';
import { attestationKeyOf, verifyQuoteSignature } from './quote-signature.js';
import { checkPckRevocation } from './revocation.js';
import { mergeTcbStatus } from './status.js';
import type { TcbLevel } from './tcb-info.js';
import { matchTcbLevel } from './tcb-level.js';
import { checkTdxModule, type TdxModuleResult } from './tdx-module.js';
import { assertVerifiedInputs } from './verified-inputs.js';
import type { VerifiedCollateral } from './verify-collateral.js';

export interface AppraiseOptions {
  /** Unix seconds. */
  at: number;
  /** SHA-256 of the quote bytes, lower-case hex. */
  evidenceSha256: string;
  /** The QE report signature by this PCK key is already known to verify (cache hit). */
  qeReportVerified?: boolean;
  /** A ready KeyObject for the attestation key (cache hit). */
  attestationKey?: KeyObject;
}

function tdReportOf(quote: Quote): TdReportBody | undefined {
  return quote.body.kind === 'sgx' ? undefined : quote.body.report;
}

/**
 * Appraises a parsed quote. Throws `AppraisalError`/`CollateralError` with the failing step.
 * Internal (not exported from the package root): `verifyQuote` and `createQuoteVerifier` are the
 * public forms, which take the quote and raw collateral and verify both themselves. A `pck` or
 * `vc` that `verifyPckChain`/`verifyCollateral` did not produce is refused with ERR_UNVERIFIED_INPUT.
 * @example const r = appraise(quote, verifyPckChain(pem, anchors, at), verifyCollateral(c, anchors, at), { at, evidenceSha256 })
 */
export function appraise(quote: Quote, pck: VerifiedPck, vc: VerifiedCollateral, o: AppraiseOptions): DcapResult {
  assertVerifiedInputs(pck, vc);
  if (pck.chain.anchor !== vc.anchor) {
    throw new CollateralError(
      'ERR_ANCHOR_MISMATCH',
      'collateral',
      `the PCK chain ends at "${pck.chain.anchor.name}" but the collateral at "${vc.anchor.name}"`,
    );
  }
  const window = {
    notBefore: Math.max(pck.chain.notBefore, vc.notBefore),
    notAfter: Math.min(pck.chain.notAfter, vc.notAfter),
  };
  if (o.at < window.notBefore || o.at > window.notAfter) {
    throw new CollateralError('ERR_COLLATERAL_EXPIRED', 'collateral', 'collateral is not valid at the requested time');
  }
  // QVL checks the CRL issuer (4.1.2.4.6) before the TCB info's TEE and FMSPC (4.1.2.4.9–10);
  // ratls first makes sure the collateral is for this platform at all, so a wrong collateral set
  // is reported as such rather than as a CRL issuer mismatch. Both orders refuse the same inputs.
  checkTcbInfoMatches(vc.tcbInfo, pck.ext, quote.tee);
  checkPckRevocation(pck.leaf, pck.ca, vc.rootCrl, vc.pckCrl, vc.pckCrlIssuer);
  const td = tdReportOf(quote);
  let module: TdxModuleResult | undefined;
  if (td) module = checkTdxModule(td, vc.tcbInfo);

  const sd = quote.signatureData;
  if (!o.qeReportVerified) verifyQeReportSignature(sd.qeReport, sd.qeReportSignature, pck.leafKey);
  checkQeReportData(sd.qeReport, sd.attestationKey, sd.qeAuthData);
  checkQeIdentityTee(vc.qeIdentity, quote.tee);
  const qeLevel = matchQeIdentity(sd.qeReport, vc.qeIdentity);

  verifyQuoteSignature(quote, o.attestationKey ?? attestationKeyOf(quote));

  const level = matchTcbLevel(vc.tcbInfo, pck.ext.tcb, td?.teeTcbSvn);
  const tcbStatus = mergeTcbStatus(level.tcbStatus, qeLevel.tcbStatus, module?.status);
  if (tcbStatus === 'Revoked') {
    const which =
      level.tcbStatus === 'Revoked'
        ? 'platform TCB level'
        : qeLevel.tcbStatus === 'Revoked'
          ? 'QE TCB level'
          : 'TDX module TCB level';
    throw new AppraisalError('ERR_TCB_REVOKED', 'tcb-level', `the ${which} is Revoked`);
  }
  const advisoryIds = [
    ...new Set([...level.advisoryIds, ...qeLevel.advisoryIds, ...(module?.advisoryIds ?? [])]),
  ].sort();
  const base = {
    simulated: pck.chain.anchor.simulated,
    evidenceSha256: o.evidenceSha256,
    collateralWindow: window,
    quoteVersion: quote.header.version,
    tcbStatus,
    platformTcbStatus: level.tcbStatus,
    qeTcbStatus: qeLevel.tcbStatus,
    advisoryIds,
    fmspc: toHex(pck.ext.fmspc),
    tcbDate: level.tcbDate,
    tcbEvaluationDataNumber: vc.tcbInfo.tcbEvaluationDataNumber,
    ...demotionOf(vc, level, o.at),
    collateralVersions: {
      tcbInfoIssueDate: vc.tcbInfo.issueDate,
      qeIdentityIssueDate: vc.qeIdentity.issueDate,
      tcbEvaluationDataNumber: vc.tcbInfo.tcbEvaluationDataNumber,
    },
  };
  if (quote.body.kind === 'sgx') {
    const r = quote.body.report;
    const result: SgxResult = { ...base, tee: 'sgx', debug: isSgxDebug(r), measurements: sgxMeasurements(r) };
    return markVerified(result);
  }
  const t = quote.body.report;
  const result: TdxResult = {
    ...base,
    tee: 'tdx',
    debug: isTdDebug(t),
    tdxModuleTcbStatus: (module?.status ?? 'UpToDate') as TcbStatus,
    ...(module?.id ? { tdxModuleId: module.id } : {}),
    measurements: tdxMeasurements(t),
  };
  return markVerified(result);
}

/**
 * Levels are ordered newest first (Intel PCS TCB info v3), so the level just before the matched
 * one is the recovery that made it stale (`tcbRecoveryDate`, its signed tcbDate). Intel's signed
 * TCB evaluation data numbers name that recovery (same tcbDate) and its `tcbRecoveryEventDate`,
 * which anchors grace windows; without them the reason is recorded and grace fails closed.
 */
function demotionOf(
  vc: VerifiedCollateral,
  matched: TcbLevel,
  at: number,
): Pick<
  DcapResult,
  'tcbRecoveryDate' | 'tcbRecoveryEventDate' | 'tcbRecoveryEvaluationDataNumber' | 'graceAnchorError'
> {
  const levels = vc.tcbInfo.tcbLevels;
  const i = levels.indexOf(matched);
  const newer = i > 0 ? levels[i - 1] : undefined;
  if (!newer) return {};
  const n = vc.tcbEvalNumbers;
  // A cached VerifiedCollateral may outlive the numbers' own window: they must hold at `at` too.
  if (!n)
    return {
      tcbRecoveryDate: newer.tcbDate,
      graceAnchorError: vc.tcbEvalNumbersError ?? 'ERR_TCB_EVAL_NUMBER_MISSING',
    };
  if (at < n.issueDate || at > n.nextUpdate)
    return { tcbRecoveryDate: newer.tcbDate, graceAnchorError: 'ERR_COLLATERAL_EXPIRED' };
  const date = Date.parse(newer.tcbDate);
  const hit = Number.isFinite(date) ? n.tcbEvalNumbers.find((e) => e.tcbDate * 1000 === date) : undefined;
  if (!hit) return { tcbRecoveryDate: newer.tcbDate, graceAnchorError: 'ERR_TCB_EVAL_NUMBER_MISSING' };
  return {
    tcbRecoveryDate: newer.tcbDate,
    tcbRecoveryEventDate: new Date(hit.tcbRecoveryEventDate * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    tcbRecoveryEvaluationDataNumber: hit.tcbEvaluationDataNumber,
  };
}

function sgxMeasurements(r: SgxReportBody): SgxResult['measurements'] {
  return {
    mrEnclave: toHex(r.mrEnclave),
    mrSigner: toHex(r.mrSigner),
    isvProdId: r.isvProdId,
    isvSvn: r.isvSvn,
    attributes: toHex(r.attributes),
    reportData: toHex(r.reportData),
    configSvn: r.configSvn,
    miscSelect: r.miscSelect.toString(16).padStart(8, '0'),
  };
}

function tdxMeasurements(t: TdReportBody): TdxResult['measurements'] {
  return {
    mrTd: toHex(t.mrTd),
    rtmr0: toHex(t.rtmr[0]),
    rtmr1: toHex(t.rtmr[1]),
    rtmr2: toHex(t.rtmr[2]),
    rtmr3: toHex(t.rtmr[3]),
    mrSeam: toHex(t.mrSeam),
    tdAttributes: toHex(t.tdAttributes),
    reportData: toHex(t.reportData),
    xfam: toHex(t.xfam),
    mrConfigId: toHex(t.mrConfigId),
    mrOwner: toHex(t.mrOwner),
    mrOwnerConfig: toHex(t.mrOwnerConfig),
    ...(t.mrServiceTd ? { mrServiceTd: toHex(t.mrServiceTd) } : {}),
    teeTcbSvn: toHex(t.teeTcbSvn),
  };
}
