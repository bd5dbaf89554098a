import { EvidenceParseError, RatlsError } from '../errors.js';
import { certificateParts } from './certificate-parts.js';

/** AMD VCEK/VLEK certificate extension OIDs (AMD "Versioned Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification" #57230, Table 8). */
export const AMD_VCEK_OID = {
  structVersion: '1.3.6.1.4.1.3704.1.1',
  productName: '1.3.6.1.4.1.3704.1.2',
  blSpl: '1.3.6.1.4.1.3704.1.3.1',
  teeSpl: '1.3.6.1.4.1.3704.1.3.2',
  snpSpl: '1.3.6.1.4.1.3704.1.3.3',
  ucodeSpl: '1.3.6.1.4.1.3704.1.3.8',
  fmcSpl: '1.3.6.1.4.1.3704.1.3.9',
  hwId: '1.3.6.1.4.1.3704.1.4',
  cspId: '1.3.6.1.4.1.3704.1.5',
} as const;

export interface VcekExtensions {
  productName: string;
  blSpl: number;
  teeSpl: number;
  snpSpl: number;
  ucodeSpl: number;
  fmcSpl?: number;
  /** VCEK only: the chip's hardware ID (64 bytes on Milan/Genoa, 8 on Turin). */
  hwId?: Uint8Array;
  /** 'raw' = legacy bare bytes; 'octet-string' = DER OCTET STRING wrapped (newer KDS). */
  hwIdEncoding?: 'raw' | 'octet-string';
  /** VLEK only: the cloud provider the key was issued to. */
  cspId?: string;
}

export const VCEK_MAX_DER = 4096;

/** DER INTEGER holding a non-negative byte value (the SPLs are 8-bit). */
function splInt(v: Uint8Array, name: string): number {
  if (v.length < 3 || v[0] !== 0x02 || v[1] !== v.length - 2 || v.length > 4)
    throw new EvidenceParseError(
      'ERR_SNP_VCEK_INVALID',
      'parse',
      `VCEK/VLEK certificate: ${name} is not a small DER INTEGER`,
    );
  const body = v.subarray(2);
  if (((body[0] as number) & 0x80) !== 0)
    throw new EvidenceParseError('ERR_SNP_VCEK_INVALID', 'parse', `VCEK/VLEK certificate: ${name} is negative`);
  let n = 0;
  for (const b of body) n = n * 256 + b;
  if (n > 255)
    throw new EvidenceParseError('ERR_SNP_VCEK_INVALID', 'parse', `VCEK/VLEK certificate: ${name} = ${n} exceeds 255`);
  return n;
}

function ia5(v: Uint8Array, name: string): string {
  if (v.length < 2 || v[0] !== 0x16 || v[1] !== v.length - 2)
    throw new EvidenceParseError(
      'ERR_SNP_VCEK_INVALID',
      'parse',
      `VCEK/VLEK certificate: ${name} is not a short IA5String`,
    );
  return Buffer.from(v.subarray(2)).toString('latin1');
}

/**
 * Reads the AMD-specific extensions of a VCEK or VLEK certificate (DER): product name, the TCB
 * security patch levels and the hardware ID (both encodings), or the VLEK CSP id.
 *
 * @example const ext = parseVcekExtensions(vcekDer); ext.snpSpl === report.reportedTcb.snp
 */
export function parseVcekExtensions(der: Uint8Array): VcekExtensions {
  if (!(der instanceof Uint8Array) || der.length === 0 || der.length > VCEK_MAX_DER) {
    throw new EvidenceParseError(
      'ERR_SNP_VCEK_INVALID',
      'parse',
      `VCEK/VLEK certificate: ${der?.length ?? 0} bytes, expected 1..${VCEK_MAX_DER}`,
    );
  }
  let ext: Map<string, Uint8Array>;
  try {
    ext = certificateParts(der, 'VCEK/VLEK certificate').extensions;
  } catch (e) {
    throw e instanceof RatlsError
      ? e
      : new EvidenceParseError(
          'ERR_SNP_VCEK_INVALID',
          'parse',
          'VCEK/VLEK certificate: not a parseable X.509 certificate',
          { cause: e },
        );
  }
  const need = (oid: string, name: string): Uint8Array => {
    const v = ext.get(oid);
    if (!v)
      throw new EvidenceParseError(
        'ERR_SNP_VCEK_INVALID',
        'parse',
        `VCEK/VLEK certificate: missing ${name} extension (${oid})`,
      );
    return v;
  };
  const out: VcekExtensions = {
    productName: ia5(need(AMD_VCEK_OID.productName, 'productName'), 'productName'),
    blSpl: splInt(need(AMD_VCEK_OID.blSpl, 'blSPL'), 'blSPL'),
    teeSpl: splInt(need(AMD_VCEK_OID.teeSpl, 'teeSPL'), 'teeSPL'),
    snpSpl: splInt(need(AMD_VCEK_OID.snpSpl, 'snpSPL'), 'snpSPL'),
    ucodeSpl: splInt(need(AMD_VCEK_OID.ucodeSpl, 'ucodeSPL'), 'ucodeSPL'),
  };
  const fmc = ext.get(AMD_VCEK_OID.fmcSpl);
  if (fmc) out.fmcSpl = splInt(fmc, 'fmcSPL');
  const hw = ext.get(AMD_VCEK_OID.hwId);
  if (hw) {
    // Older KDS certificates carry the bare ID bytes; newer ones wrap it in an OCTET STRING.
    if (hw.length >= 2 && hw[0] === 0x04 && hw[1] === hw.length - 2 && (hw.length - 2 === 64 || hw.length - 2 === 8)) {
      out.hwId = hw.slice(2);
      out.hwIdEncoding = 'octet-string';
    } else if (hw.length === 64 || hw.length === 8) {
      out.hwId = hw.slice();
      out.hwIdEncoding = 'raw';
    } else {
      throw new EvidenceParseError(
        'ERR_SNP_VCEK_INVALID',
        'parse',
        `VCEK/VLEK certificate: hwID extension has ${hw.length} bytes, expected 64 or 8 (raw or OCTET STRING)`,
      );
    }
  }
  const csp = ext.get(AMD_VCEK_OID.cspId);
  if (csp) out.cspId = ia5(csp, 'cspId');
  return out;
}
