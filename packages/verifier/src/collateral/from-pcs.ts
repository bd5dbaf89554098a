/** Assembling `DcapCollateral` from raw Intel PCS/PCCS responses. */

import { normalizeCrl } from './crl.js';
import { decodeIssuerChain } from './issuer-chain.js';
import { extractSignedJson } from './signed-json.js';
import type { DcapCollateral } from './types.js';

/** Raw PCS responses: bodies as received, issuer chains as the (URL-encoded) header values. */
export interface PcsResponses {
  /** Body of `GET {sgx|tdx}/certification/v4/tcb?fmspc=…`: `{"tcbInfo":{…},"signature":"…"}`. */
  tcbInfoBody: string;
  /** Header `TCB-Info-Issuer-Chain` (v3: `SGX-TCB-Info-Issuer-Chain`). */
  tcbInfoIssuerChain: string;
  /** Body of `GET …/qe/identity`: `{"enclaveIdentity":{…},"signature":"…"}`. */
  qeIdentityBody: string;
  /** Header `SGX-Enclave-Identity-Issuer-Chain`. */
  qeIdentityIssuerChain: string;
  /** Body of `GET sgx/certification/v4/pckcrl?ca=…` (DER with `encoding=der`; PEM or hex accepted). */
  pckCrl: Uint8Array;
  /** Header `SGX-PCK-CRL-Issuer-Chain`. */
  pckCrlIssuerChain: string;
  /** Root CA CRL (DER, PEM or hex text as PCCS `rootcacrl` returns it). */
  rootCaCrl: Uint8Array;
  /** Body of `GET {sgx|tdx}/certification/v4/tcbevaluationdatanumbers`, when served. */
  tcbEvaluationDataNumbersBody?: string;
  /** Header `TCB-Evaluation-Data-Numbers-Issuer-Chain`. */
  tcbEvaluationDataNumbersIssuerChain?: string;
}

/**
 * Parses and shape-checks PCS responses into normalized collateral. Signatures are NOT verified
 * here (the DCAP appraiser does that); the signed JSON is cut out byte-exact.
 * @example
 * const c = collateralFromPcsResponses({ tcbInfoBody, tcbInfoIssuerChain: res.headers.get('TCB-Info-Issuer-Chain')!, … })
 */
/** The TCB evaluation data numbers as received, or nothing when absent or their chain header is unusable. */
function evalNumbersOf(r: PcsResponses): Pick<DcapCollateral, 'tcbEvaluationDataNumbers'> {
  if (r.tcbEvaluationDataNumbersBody === undefined || r.tcbEvaluationDataNumbersIssuerChain === undefined) return {};
  try {
    const issuerChainPem = decodeIssuerChain(
      r.tcbEvaluationDataNumbersIssuerChain,
      'TCB evaluation data numbers issuer chain',
    );
    return { tcbEvaluationDataNumbers: { body: r.tcbEvaluationDataNumbersBody, issuerChainPem } };
  } catch {
    // They only anchor grace windows: unusable ones leave the set without them (grace fails closed).
    return {};
  }
}

export function collateralFromPcsResponses(r: PcsResponses): DcapCollateral {
  const tcb = extractSignedJson(r.tcbInfoBody, 'tcbInfo');
  const qe = extractSignedJson(r.qeIdentityBody, 'enclaveIdentity');
  return {
    pckCrlIssuerChainPem: decodeIssuerChain(r.pckCrlIssuerChain, 'PCK CRL issuer chain'),
    rootCaCrl: normalizeCrl(r.rootCaCrl, 'Root CA CRL'),
    pckCrl: normalizeCrl(r.pckCrl, 'PCK CRL'),
    tcbInfoIssuerChainPem: decodeIssuerChain(r.tcbInfoIssuerChain, 'TCB info issuer chain'),
    tcbInfoJson: tcb.json,
    tcbInfoSignature: tcb.signature,
    qeIdentityIssuerChainPem: decodeIssuerChain(r.qeIdentityIssuerChain, 'QE identity issuer chain'),
    qeIdentityJson: qe.json,
    qeIdentitySignature: qe.signature,
    // Kept as received (verified, or recorded as unusable, by the appraiser).
    ...evalNumbersOf(r),
  };
}
