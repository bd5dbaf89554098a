import { EvidenceParseError } from '../errors.js';
import type { SnpProduct, SnpTcb } from './types.js';

/**
 * Decodes an 8-byte TCB_VERSION. Milan and Genoa (family 19h): BOOT_LOADER [7:0], TEE [15:8],
 * reserved, SNP [55:48], MICROCODE [63:56]. Turin (family 1Ah, ABI spec 1.58 Table 3): FMC [7:0],
 * BOOT_LOADER [15:8], TEE [23:16], SNP [31:24], reserved, MICROCODE [63:56].
 *
 * @example decodeSnpTcb(report.subarray(0x180, 0x188), 'Milan').snp
 */
export function decodeSnpTcb(raw: Uint8Array, product: SnpProduct = 'Milan'): SnpTcb {
  if (raw.length !== 8) {
    throw new EvidenceParseError('ERR_SNP_TCB_INVALID', 'parse', `SNP TCB_VERSION: ${raw.length} bytes, expected 8`);
  }
  const b = (i: number): number => raw[i] as number;
  const copy = new Uint8Array(raw);
  if (product === 'Turin') return { fmc: b(0), bootloader: b(1), tee: b(2), snp: b(3), microcode: b(7), raw: copy };
  return { bootloader: b(0), tee: b(1), snp: b(6), microcode: b(7), raw: copy };
}

/**
 * Encodes a TCB_VERSION (the inverse of `decodeSnpTcb`), e.g. for building KDS query values or test reports.
 * @example encodeSnpTcb({ bootloader: 3, tee: 0, snp: 8, microcode: 115 }, 'Milan')
 */
export function encodeSnpTcb(
  t: { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number },
  product: SnpProduct = 'Milan',
): Uint8Array {
  const out = new Uint8Array(8);
  for (const v of [t.bootloader, t.tee, t.snp, t.microcode, t.fmc ?? 0]) {
    if (!Number.isInteger(v) || v < 0 || v > 255) {
      throw new EvidenceParseError('ERR_SNP_TCB_INVALID', 'parse', `SNP TCB component ${v} is not a byte`);
    }
  }
  if (product === 'Turin') {
    out[0] = t.fmc ?? 0;
    out[1] = t.bootloader;
    out[2] = t.tee;
    out[3] = t.snp;
  } else {
    out[0] = t.bootloader;
    out[1] = t.tee;
    out[6] = t.snp;
  }
  out[7] = t.microcode;
  return out;
}
