/**
 * Fixed facts of the simulated Intel TEE: names, platform identifiers, the QE identities and the
 * TCB level table. The hierarchy mirrors Intel's (root → PCK Platform CA → PCK leaf; root → TCB
 * signing); only the root differs, and every certificate carries SIMULATION_MARKER in its O.
 */
import { createHash } from 'node:crypto';
import { SIMULATION_MARKER, sha256 } from '@ratls/evidence';

export { SIMULATION_MARKER };

const SUFFIX = `O=${SIMULATION_MARKER}, L=Santa Clara, ST=CA, C=US`;
export const ROOT_CA_NAME = `CN=ratls Simulated SGX Root CA, ${SUFFIX}`;
/** "PCK Platform CA" in the CN tells verifiers which PCK CRL applies (Intel: "Intel SGX PCK Platform CA"). */
export const PLATFORM_CA_NAME = `CN=ratls Simulated SGX PCK Platform CA, ${SUFFIX}`;
/**
 * The verifier's role rules (packages/verifier/src/dcap/roles.ts, SIMULATED_DCAP_ROLES) match these
 * names exactly, RDN by RDN: Intel's names with "ratls Simulated SGX" for "Intel SGX" and the marker
 * as O. Changing one here without the other makes simulated collateral fail ERR_TCB_SIGNER_ROLE.
 */
export const TCB_SIGNING_NAME = `CN=ratls Simulated SGX TCB Signing, ${SUFFIX}`;
export const PCK_LEAF_NAME = `CN=ratls Simulated SGX PCK Certificate, ${SUFFIX}`;

export const FMSPC_SGX = '00906ed50000';
export const FMSPC_TDX = '00806f050000';
export const PCE_ID = '0000';
export const TCB_EVALUATION_DATA_NUMBER = 17;

/** OID of Intel's SGX extension in PCK certificates (SGX PCK Certificate and CRL Profile §1.3.5). */
export const OID_SGX_EXTENSION = '1.2.840.113741.1.13.1';

const sha384 = (s: string): Uint8Array => new Uint8Array(createHash('sha384').update(s).digest());

/** The simulated quoting enclaves (QE for SGX, TD_QE for TDX). */
export const SIM_QE = {
  sgx: {
    id: 'QE',
    mrSigner: sha256('ratls simulated QE signer'),
    mrEnclave: sha256('ratls simulated QE'),
    isvProdId: 1,
  },
  tdx: {
    id: 'TD_QE',
    mrSigner: sha256('ratls simulated TD QE signer'),
    mrEnclave: sha256('ratls simulated TD QE'),
    isvProdId: 2,
  },
} as const;
/** The QE's ISVSVN; the QE identity lists it as UpToDate. */
export const SIM_QE_ISVSVN = 8;
/** QE report ATTRIBUTES: INIT | PROVISIONKEY flags (0x11), XFRM 0xe7; Intel's QE identity mask. */
export const SIM_QE_ATTRIBUTES = '11000000000000000000000000000000';
export const SIM_QE_ATTRIBUTES_MASK = 'FBFFFFFFFFFFFFFF0000000000000000';

/** Default measurements of the simulated enclave / TD when the caller names none. */
export const DEFAULT_MR_ENCLAVE = sha256('ratls simulated enclave');
export const DEFAULT_MR_SIGNER = sha256('ratls simulated enclave signer');
export const DEFAULT_MR_TD = sha384('ratls simulated td');
export const SIM_MR_SEAM = sha384('ratls simulated TDX module');

/** TDX module: TEE_TCB_SVN[0] is its SVN, TEE_TCB_SVN[1] its major version (→ identity TDX_01). */
export const TDX_MODULE_SVN = 4;
export const TDX_MODULE_MAJOR = 1;

import { isTcbStatus, TCB_STATUSES, type TcbStatus } from '@ratls/evidence';

export { isTcbStatus, TCB_STATUSES, type TcbStatus };

export interface SimTcbLevel {
  status: TcbStatus;
  /** sgxtcbcomp01svn … 16. */
  sgxComponents: number[];
  pceSvn: number;
  /** tdxtcbcomponents (TEE_TCB_SVN bytes). */
  tdxComponents: number[];
  tcbDate: string;
  advisoryIds: string[];
}

const ADVISORIES: Record<TcbStatus, string[]> = {
  UpToDate: [],
  SWHardeningNeeded: ['INTEL-SA-00615'],
  ConfigurationNeeded: ['INTEL-SA-00289'],
  ConfigurationAndSWHardeningNeeded: ['INTEL-SA-00289', 'INTEL-SA-00615'],
  OutOfDate: ['INTEL-SA-00615', 'INTEL-SA-00828'],
  OutOfDateConfigurationNeeded: ['INTEL-SA-00289', 'INTEL-SA-00615', 'INTEL-SA-00828'],
  Revoked: ['INTEL-SA-00615', 'INTEL-SA-00828'],
};

/**
 * One level per status, SVNs strictly decreasing from level to level, so a platform whose PCK TCB
 * equals level k's SVNs matches exactly level k under Intel's rule (first level, in descending
 * order, whose every component ≤ the platform's).
 */
export const SIM_TCB_LEVELS: readonly SimTcbLevel[] = TCB_STATUSES.map((status, k) => ({
  status,
  sgxComponents: [16 - k, 16 - k, 2, 2, 3, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
  pceSvn: 13 - k,
  tdxComponents: [TDX_MODULE_SVN, 0, 10 - k, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  tcbDate: `${2024 - k}-03-13T00:00:00Z`,
  advisoryIds: [...ADVISORIES[status]],
}));

export function tcbLevelFor(status: TcbStatus): SimTcbLevel {
  const level = SIM_TCB_LEVELS.find((l) => l.status === status);
  if (!level) throw new Error(`unreachable: no level for ${status}`);
  return level;
}
