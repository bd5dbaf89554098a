/**
 * The facts the gateway passes to backends about an accepted peer: the policy identity, the TEE,
 * its primary measurement and its TCB status. Derived only from an accepted decision.
 */
import type { Attestation } from '@ratls/verifier';

export interface PeerFacts {
  identity: string;
  tee: string;
  /** SGX MRENCLAVE, TDX MRTD, SEV-SNP measurement, Nitro PCR0; lower-case hex. */
  measurement: string;
  /** DCAP TCB status; absent for TEEs without one. */
  tcbStatus?: string;
}

/** Facts of an accepted socket, or undefined when it carries no accepted decision (fail closed). */
export function peerFacts(a: Attestation | undefined): PeerFacts | undefined {
  if (!a?.result || !a.decision?.accept || !a.identity) return undefined;
  const r = a.result;
  switch (r.tee) {
    case 'sgx':
      return { identity: a.identity, tee: 'sgx', measurement: r.measurements.mrEnclave, tcbStatus: r.tcbStatus };
    case 'tdx':
      return { identity: a.identity, tee: 'tdx', measurement: r.measurements.mrTd, tcbStatus: r.tcbStatus };
    case 'sev-snp':
      return { identity: a.identity, tee: 'sev-snp', measurement: r.measurements.measurement };
    case 'nitro':
      return { identity: a.identity, tee: 'nitro', measurement: r.measurements.pcrs['0'] ?? '' };
  }
}
