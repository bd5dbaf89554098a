/**
 * The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1; Intel "SGX PCK
 * Certificate and CRL Profile" §1.3.5): PPID, TCB (16 component SVNs, PCESVN, CPUSVN), PCE-ID,
 * FMSPC, SGX type. Pure parsing; failures are `AppraisalError` ERR_PCK_EXTENSION.
 */
import {
  AppraisalError,
  type DerNode,
  derChildren,
  derContent,
  derOid,
  derSmallUint,
  readDer,
  toHex,
} from '@ratls/evidence';
import { type ParsedCertificate, parseCertificate } from '../pki/certificate.js';

export const OID_SGX_EXTENSION = '1.2.840.113741.1.13.1';
const P = `${OID_SGX_EXTENSION}.`;

export interface PckTcb {
  /** sgxtcbcomp01svn … sgxtcbcomp16svn. */
  compSvn: number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
}

export interface PckExtensions {
  ppid: Uint8Array;
  tcb: PckTcb;
  pceId: Uint8Array;
  fmspc: Uint8Array;
  /** 0 = Standard, 1 = Scalable. */
  sgxType: number;
}

function octets(buf: Uint8Array, n: DerNode | undefined, len: number, what: string): Uint8Array {
  if (!n || n.tag !== 0x04 || n.end - n.contentStart !== len)
    throw new AppraisalError(
      'ERR_PCK_EXTENSION',
      'pck-extensions',
      `PCK SGX extension: ${what} must be a ${len}-byte OCTET STRING`,
    );
  return derContent(buf, n);
}

function parseTcb(buf: Uint8Array, seq: DerNode): PckTcb {
  if (seq.tag !== 0x30)
    throw new AppraisalError('ERR_PCK_EXTENSION', 'pck-extensions', 'PCK SGX extension: TCB must be a SEQUENCE');
  const compSvn: number[] = new Array(16).fill(-1);
  let pceSvn = -1;
  let cpuSvn: Uint8Array | undefined;
  for (const item of derChildren(buf, seq)) {
    const [oidN, valN] = derChildren(buf, item);
    if (!oidN || !valN)
      throw new AppraisalError(
        'ERR_PCK_EXTENSION',
        'pck-extensions',
        'PCK SGX extension: TCB entry without OID and value',
      );
    const oid = derOid(buf, oidN);
    if (!oid.startsWith(`${P}2.`))
      throw new AppraisalError('ERR_PCK_EXTENSION', 'pck-extensions', `PCK SGX extension: unexpected TCB entry ${oid}`);
    const k = Number(oid.slice(P.length + 2));
    if (k >= 1 && k <= 16) compSvn[k - 1] = derSmallUint(buf, valN);
    else if (k === 17) pceSvn = derSmallUint(buf, valN);
    else if (k === 18) cpuSvn = octets(buf, valN, 16, 'CPUSVN');
  }
  if (compSvn.some((v) => v < 0 || v > 255) || pceSvn < 0 || pceSvn > 0xffff || !cpuSvn) {
    throw new AppraisalError(
      'ERR_PCK_EXTENSION',
      'pck-extensions',
      'PCK SGX extension: TCB is missing components, PCESVN or CPUSVN, or a value is out of range',
    );
  }
  return { compSvn, pceSvn, cpuSvn };
}

/**
 * Reads the SGX extension from a PCK certificate (DER or already parsed).
 * @example const { fmspc, tcb } = parsePckExtensions(leafDer)
 */
export function parsePckExtensions(cert: Uint8Array | ParsedCertificate): PckExtensions {
  let parsed: ParsedCertificate;
  try {
    parsed = cert instanceof Uint8Array ? parseCertificate(cert) : cert;
  } catch (e) {
    throw new AppraisalError('ERR_PCK_EXTENSION', 'pck-extensions', 'PCK certificate does not parse', { cause: e });
  }
  const ext = parsed.extensions.get(OID_SGX_EXTENSION);
  if (!ext)
    throw new AppraisalError(
      'ERR_PCK_EXTENSION',
      'pck-extensions',
      `PCK SGX extension: certificate "${parsed.subjectCn}" has no SGX extension`,
    );
  try {
    const v = ext.value;
    const top = readDer(v, 0x30);
    let ppid: Uint8Array | undefined;
    let tcb: PckTcb | undefined;
    let pceId: Uint8Array | undefined;
    let fmspc: Uint8Array | undefined;
    let sgxType: number | undefined;
    for (const item of derChildren(v, top)) {
      const [oidN, valN] = derChildren(v, item);
      if (!oidN || !valN)
        throw new AppraisalError(
          'ERR_PCK_EXTENSION',
          'pck-extensions',
          'PCK SGX extension: entry without OID and value',
        );
      const oid = derOid(v, oidN);
      if (oid === `${P}1`) ppid = octets(v, valN, 16, 'PPID');
      else if (oid === `${P}2`) tcb = parseTcb(v, valN);
      else if (oid === `${P}3`) pceId = octets(v, valN, 2, 'PCE-ID');
      else if (oid === `${P}4`) fmspc = octets(v, valN, 6, 'FMSPC');
      else if (oid === `${P}5`) {
        if (valN.tag !== 0x0a || valN.end - valN.contentStart !== 1)
          throw new AppraisalError(
            'ERR_PCK_EXTENSION',
            'pck-extensions',
            'PCK SGX extension: SGX Type must be a 1-byte ENUMERATED',
          );
        sgxType = v[valN.contentStart] as number;
      }
      // .6 PlatformInstanceID and .7 Configuration (multi-package platforms) are not needed here.
    }
    if (!ppid || !tcb || !pceId || !fmspc || sgxType === undefined) {
      throw new AppraisalError(
        'ERR_PCK_EXTENSION',
        'pck-extensions',
        'PCK SGX extension: missing one of PPID, TCB, PCE-ID, FMSPC, SGX Type',
      );
    }
    return { ppid, tcb, pceId, fmspc, sgxType };
  } catch (e) {
    if (e instanceof AppraisalError) throw e;
    throw new AppraisalError('ERR_PCK_EXTENSION', 'pck-extensions', `PCK SGX extension: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** Lower-case hex FMSPC (the collateral lookup key). */
export function fmspcHex(ext: PckExtensions): string {
  return toHex(ext.fmspc);
}
