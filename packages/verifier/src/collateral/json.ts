/** Conversion between the QuoteCollateralV3 JSON layout and normalized `DcapCollateral`. */
import { CollateralError, fromHex, RatlsError, toHex } from '@ratls/evidence';
import type { DcapCollateral, QuoteCollateralV3Json } from './types.js';

const FIELDS = [
  'pck_crl_issuer_chain',
  'root_ca_crl',
  'pck_crl',
  'tcb_info_issuer_chain',
  'tcb_info',
  'tcb_info_signature',
  'qe_identity_issuer_chain',
  'qe_identity',
  'qe_identity_signature',
] as const;

/** Largest collateral JSON accepted (real sets are ~30 KiB; PCK CRLs can grow). */
export const MAX_COLLATERAL_JSON_BYTES = 4 * 1024 * 1024;

/**
 * Parses QuoteCollateralV3 JSON (text or object) into bytes. Fails closed on any missing field.
 * @example const c = collateralFromJson(readFileSync('collateral.json', 'utf8'))
 */
export function collateralFromJson(input: string | QuoteCollateralV3Json): DcapCollateral {
  let obj: unknown = input;
  if (typeof input === 'string') {
    if (input.length > MAX_COLLATERAL_JSON_BYTES) {
      throw new CollateralError(
        'ERR_COLLATERAL_TOO_LARGE',
        'collateral',
        `collateral JSON exceeds ${MAX_COLLATERAL_JSON_BYTES} bytes`,
      );
    }
    try {
      obj = JSON.parse(input);
    } catch (e) {
      throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', 'collateral: not valid JSON', { cause: e });
    }
  }
  if (typeof obj !== 'object' || obj === null) {
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', 'collateral: expected a JSON object');
  }
  const o = obj as Record<string, unknown>;
  for (const f of FIELDS) {
    if (typeof o[f] !== 'string' || (o[f] as string).length === 0) {
      throw new CollateralError(
        'ERR_COLLATERAL_MISSING',
        'collateral',
        `collateral: field "${f}" is missing or not a string`,
      );
    }
  }
  const s = o as unknown as QuoteCollateralV3Json;
  const hex = (f: (typeof FIELDS)[number]) => {
    try {
      return fromHex(s[f], f);
    } catch (e) {
      throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `collateral: field "${f}" is not hex`, {
        cause: e instanceof RatlsError ? e : undefined,
      });
    }
  };
  const evalBody = o.tcb_evaluation_data_numbers;
  const evalChain = o.tcb_evaluation_data_numbers_issuer_chain;
  if (
    (evalBody === undefined) !== (evalChain === undefined) ||
    (evalBody !== undefined && (typeof evalBody !== 'string' || typeof evalChain !== 'string'))
  ) {
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      'collateral: "tcb_evaluation_data_numbers" and its "_issuer_chain" must both be strings, or both absent',
    );
  }
  return {
    ...(typeof evalBody === 'string' && typeof evalChain === 'string'
      ? { tcbEvaluationDataNumbers: { body: evalBody, issuerChainPem: evalChain } }
      : {}),
    pckCrlIssuerChainPem: s.pck_crl_issuer_chain,
    rootCaCrl: hex('root_ca_crl'),
    pckCrl: hex('pck_crl'),
    tcbInfoIssuerChainPem: s.tcb_info_issuer_chain,
    tcbInfoJson: s.tcb_info,
    tcbInfoSignature: hex('tcb_info_signature'),
    qeIdentityIssuerChainPem: s.qe_identity_issuer_chain,
    qeIdentityJson: s.qe_identity,
    qeIdentitySignature: hex('qe_identity_signature'),
  };
}

/** The inverse of `collateralFromJson` (for the simulator and caches). */
export function collateralToJson(c: DcapCollateral): QuoteCollateralV3Json {
  return {
    pck_crl_issuer_chain: c.pckCrlIssuerChainPem,
    root_ca_crl: toHex(c.rootCaCrl),
    pck_crl: toHex(c.pckCrl),
    tcb_info_issuer_chain: c.tcbInfoIssuerChainPem,
    tcb_info: c.tcbInfoJson,
    tcb_info_signature: toHex(c.tcbInfoSignature),
    qe_identity_issuer_chain: c.qeIdentityIssuerChainPem,
    qe_identity: c.qeIdentityJson,
    qe_identity_signature: toHex(c.qeIdentitySignature),
    ...(c.tcbEvaluationDataNumbers
      ? {
          tcb_evaluation_data_numbers: c.tcbEvaluationDataNumbers.body,
          tcb_evaluation_data_numbers_issuer_chain: c.tcbEvaluationDataNumbers.issuerChainPem,
        }
      : {}),
  };
}
