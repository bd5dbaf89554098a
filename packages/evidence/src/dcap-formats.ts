/**
 * Intel DCAP data-format facts shared by the attester (the simulator writes them) and the
 * verifier (it reads them), kept here so neither package copies the other.
 */

/** TCB statuses Intel's TCB info and QE identity use (Intel PCS API v4, `tcbStatus`). */
export const TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'Revoked',
] as const;
export type TcbStatus = (typeof TCB_STATUSES)[number];

/** True for one of Intel's TCB status strings. */
export function isTcbStatus(s: unknown): s is TcbStatus {
  return typeof s === 'string' && (TCB_STATUSES as readonly string[]).includes(s);
}

/**
 * DCAP collateral as the snake_case QuoteCollateralV3 JSON layout (dcap-qvl's, and the one in
 * `vectors/dcap-cases/*.collateral.json`): TCB info and QE identity are the *exact signed JSON
 * strings* (never re-serialized), signatures raw r‖s hex, CRLs DER hex, issuer chains PEM leaf first.
 */
export interface QuoteCollateralV3Json {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
  /**
   * ratls extension, both or neither: Intel's signed TCB evaluation data numbers (PCS v4
   * `tcbevaluationdatanumbers` body, exact text) and its issuer chain, so caches and bundles keep
   * the grace anchor. Readers that know only QuoteCollateralV3 ignore them.
   */
  tcb_evaluation_data_numbers?: string;
  tcb_evaluation_data_numbers_issuer_chain?: string;
}
