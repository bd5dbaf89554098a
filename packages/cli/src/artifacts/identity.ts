/**
 * Builds a policy identity block from reference values: a parsed SIGSTRUCT, nitro-cli's PCRs, or
 * what a verified RA-TLS certificate or quote measured. The block pins measurements only; TCB
 * status, advisories and debug stay with the policy's defaults, so taking values from a test
 * machine never carries its weaker platform state into production.
 */
import type { AttestationResult } from '@ratls/verifier';
import { stringify } from 'yaml';
import type { EifMeasurements } from './eif.js';
import type { ToolMeasurements } from './measurement-json.js';
import type { Sigstruct } from './sigstruct.js';

/** One entry of a policy's `identities` list, in the policy file's own spelling. */
export type IdentityBlock = { name: string } & (
  | { sgx: Record<string, unknown> }
  | { tdx: Record<string, unknown> }
  | { snp: Record<string, unknown> }
  | { nitro: Record<string, unknown> }
);

const ff = (bytes: number) => 'ff'.repeat(bytes);
const isZero = (hex: string | undefined) => hex === undefined || /^0*$/.test(hex);

function andMask(value: string, mask: string): string {
  const v = Buffer.from(value, 'hex');
  const m = Buffer.from(mask, 'hex');
  return Buffer.from(v.map((b, i) => b & (m[i] as number))).toString('hex');
}

/**
 * The identity an enclave signed with this SIGSTRUCT reports: MRENCLAVE, MRSIGNER, ISVPRODID,
 * minIsvSvn = ISVSVN, and ATTRIBUTES under ATTRIBUTEMASK (what EINIT enforces).
 * @example identityFromSigstruct('app', parseSigstruct(bytes)).sgx.mrEnclave
 */
export function identityFromSigstruct(name: string, s: Sigstruct): IdentityBlock & { sgx: Record<string, unknown> } {
  return {
    name,
    sgx: {
      mrEnclave: [s.mrEnclave],
      mrSigner: s.mrSigner,
      isvProdId: s.isvProdId,
      minIsvSvn: s.isvSvn,
      attributes: { mask: s.attributeMask, value: andMask(s.attributes, s.attributeMask) },
    },
  };
}

/** @example identityFromEif('enclave', parseEifJson(text)).nitro.pcr0 */
export function identityFromEif(name: string, m: EifMeasurements): IdentityBlock & { nitro: Record<string, unknown> } {
  const nitro: Record<string, unknown> = { pcr0: [m.pcr0] };
  if (m.pcr1) nitro.pcr1 = [m.pcr1];
  if (m.pcr2) nitro.pcr2 = [m.pcr2];
  if (m.pcr8 && !isZero(m.pcr8)) nitro.pcr8 = [m.pcr8];
  return { name, nitro };
}

/**
 * A TD or SNP guest as a measurement tool computed it from the image (RTMR3 is runtime-extended
 * and usually absent).
 * @example identityFromTool('td', parseMeasurementJson(text))
 */
export function identityFromTool(name: string, m: ToolMeasurements): IdentityBlock {
  if (m.tee === 'tdx') {
    const tdx: Record<string, unknown> = { mrTd: [m.mrTd] };
    m.rtmr.forEach((v, i) => {
      if (v !== undefined) tdx[`rtmr${i}`] = [v];
    });
    return { name, tdx };
  }
  return { name, snp: { measurement: [m.measurement], ...(m.hostData ? { hostData: [m.hostData] } : {}) } };
}

/**
 * What a verified result measured, as an identity that accepts exactly that enclave, TD or VM.
 * @example identityFromResult('payments', verification.result)
 */
export function identityFromResult(name: string, r: AttestationResult): IdentityBlock {
  if (r.tee === 'sgx') {
    const m = r.measurements;
    return {
      name,
      sgx: { mrEnclave: [m.mrEnclave], mrSigner: m.mrSigner, isvProdId: m.isvProdId, minIsvSvn: m.isvSvn },
    };
  }
  if (r.tee === 'tdx') {
    const m = r.measurements;
    const tdx: Record<string, unknown> = {
      mrTd: [m.mrTd],
      rtmr0: [m.rtmr0],
      rtmr1: [m.rtmr1],
      rtmr2: [m.rtmr2],
      rtmr3: [m.rtmr3],
      tdAttributes: { mask: ff(8), value: m.tdAttributes },
    };
    if (m.xfam) tdx.xfam = { mask: ff(8), value: m.xfam };
    for (const k of ['mrConfigId', 'mrOwner', 'mrOwnerConfig', 'mrServiceTd'] as const) {
      if (!isZero(m[k])) tdx[k] = [m[k]];
    }
    return { name, tdx };
  }
  if (r.tee === 'sev-snp') {
    const m = r.measurements;
    const snp: Record<string, unknown> = { measurement: [m.measurement], hostData: [m.hostData], vmpl: m.vmpl };
    if (!isZero(m.idKeyDigest)) snp.idKeyDigest = [m.idKeyDigest];
    if (!isZero(m.authorKeyDigest)) snp.authorKeyDigest = [m.authorKeyDigest];
    const { bootloader, tee, snp: snpSvn, microcode } = m.reportedTcb;
    snp.minTcb = { bootloader, tee, snp: snpSvn, microcode };
    return { name, snp };
  }
  const pcrs = r.measurements.pcrs;
  const nitro: Record<string, unknown> = {};
  for (const n of ['0', '1', '2', '8'] as const) {
    const v = pcrs[n];
    if (v !== undefined && (n !== '8' || !isZero(v))) nitro[`pcr${n}`] = [v];
  }
  return { name, nitro };
}

/**
 * YAML for the `identities:` list (hex double-quoted so YAML never reads it as a number).
 * @example renderIdentity(block, 'from app.sig (SGX SIGSTRUCT)')
 */
export function renderIdentity(block: IdentityBlock, comment: string): string {
  const body = stringify([block], { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN', lineWidth: 0 });
  return `# ${comment}\n${body}`;
}
