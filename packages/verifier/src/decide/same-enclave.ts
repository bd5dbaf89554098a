/**
 * Whether fresh evidence names the same enclave as the certificate's evidence: same TEE, same
 * simulated/debug state and the same measurements that identify the code and its signer. Fields
 * that legitimately change between two quotes of one enclave are left out (report data; TDX RTMR3,
 * which the running guest extends; SNP reported TCB and Nitro PCR4/timestamps); the policy is
 * applied to the fresh result again, so anything it pins is still checked.
 */
import type { AttestationResult } from '../result.js';

function fields(r: AttestationResult): Record<string, unknown> {
  const base = { tee: r.tee, simulated: r.simulated, debug: r.debug };
  switch (r.tee) {
    case 'sgx': {
      const m = r.measurements;
      return { ...base, mrEnclave: m.mrEnclave, mrSigner: m.mrSigner, isvProdId: m.isvProdId, isvSvn: m.isvSvn };
    }
    case 'tdx': {
      const m = r.measurements;
      return {
        ...base,
        mrTd: m.mrTd,
        mrSeam: m.mrSeam,
        rtmr0: m.rtmr0,
        rtmr1: m.rtmr1,
        rtmr2: m.rtmr2,
        mrConfigId: m.mrConfigId,
        mrOwner: m.mrOwner,
        mrOwnerConfig: m.mrOwnerConfig,
      };
    }
    case 'sev-snp': {
      const m = r.measurements;
      return {
        ...base,
        measurement: m.measurement,
        hostData: m.hostData,
        idKeyDigest: m.idKeyDigest,
        authorKeyDigest: m.authorKeyDigest,
        policy: m.policy,
      };
    }
    case 'nitro': {
      const p = r.measurements.pcrs;
      return { ...base, pcr0: p['0'], pcr1: p['1'], pcr2: p['2'], pcr8: p['8'] };
    }
  }
}

/**
 * The first identifying field that differs between the two results, or undefined when they name
 * the same enclave.
 * @example const diff = enclaveDifference(certResult, freshResult) // 'mrEnclave' or undefined
 */
export function enclaveDifference(certificate: AttestationResult, fresh: AttestationResult): string | undefined {
  const a = fields(certificate);
  const b = fields(fresh);
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (a[k] !== b[k]) return k;
  return undefined;
}
