import { fromHex } from '../bytes.js';
import { EvidenceParseError } from '../errors.js';
import { OFF, POLICY, SNP_REPORT_SIZE, SNP_SIG_COMPONENT, SNP_SIGNED_LENGTH } from './layout.js';
import { snpProductFromCpuid } from './product.js';
import { decodeSnpTcb } from './tcb.js';
import type { SnpPolicy, SnpProduct, SnpReport } from './types.js';

const STEP = 'parse';
const MIN_VERSION = 2;
const MAX_VERSION = 5;

/** Little-endian 72-byte integer → 48-byte big-endian; the top 24 bytes must be zero (P-384 scalars). */
function scalar(le: Uint8Array, what: string): Uint8Array {
  for (let i = 48; i < SNP_SIG_COMPONENT; i++) {
    if (le[i] !== 0)
      throw new EvidenceParseError('ERR_SNP_REPORT_INVALID', STEP, `SNP report: signature ${what} exceeds 384 bits`);
  }
  const be = new Uint8Array(48);
  for (let i = 0; i < 48; i++) be[i] = le[47 - i] as number;
  return be;
}

function policy(raw: bigint): SnpPolicy {
  const bit = (n: bigint): boolean => ((raw >> n) & 1n) === 1n;
  return {
    raw,
    abiMinor: Number(raw & 0xffn),
    abiMajor: Number((raw >> 8n) & 0xffn),
    smt: bit(POLICY.smt),
    migrateMa: bit(POLICY.migrateMa),
    debug: bit(POLICY.debug),
    singleSocket: bit(POLICY.singleSocket),
  };
}

/**
 * Parses an AMD SEV-SNP ATTESTATION_REPORT (versions 2 to 5, exactly 1184 bytes; ABI spec Table 22).
 * TCB fields are decoded with the Turin layout when the product is Turin (given, or from the v3+
 * CPUID fields), else with the Milan/Genoa layout. Parsing only: `verifySnpReport` checks the signature.
 *
 * @example
 * const r = parseSnpReport(bytes);
 * console.log(r.version, toHex(r.measurement), r.policy.debug, r.reportedTcb.snp);
 */
export function parseSnpReport(bytes: Uint8Array, opts: { product?: SnpProduct } = {}): SnpReport {
  if (!(bytes instanceof Uint8Array))
    throw new EvidenceParseError('ERR_SNP_REPORT_SIZE', STEP, 'SNP report: input is not bytes');
  if (bytes.length !== SNP_REPORT_SIZE) {
    throw new EvidenceParseError(
      'ERR_SNP_REPORT_SIZE',
      STEP,
      `SNP report: ${bytes.length} bytes, expected ${SNP_REPORT_SIZE}`,
    );
  }
  const raw = new Uint8Array(bytes);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const u32 = (o: number): number => dv.getUint32(o, true);
  const u64 = (o: number): bigint => dv.getBigUint64(o, true);
  const slice = (o: number, n: number): Uint8Array => raw.slice(o, o + n);
  const u8 = (o: number): number => raw[o] as number;

  const version = u32(OFF.version);
  if (version < MIN_VERSION || version > MAX_VERSION) {
    throw new EvidenceParseError(
      'ERR_SNP_REPORT_VERSION',
      STEP,
      `SNP report: version ${version} is not supported (expected ${MIN_VERSION}..${MAX_VERSION})`,
    );
  }
  const cpuid =
    version >= 3 ? { family: u8(OFF.cpuidFamId), model: u8(OFF.cpuidModId), stepping: u8(OFF.cpuidStep) } : undefined;
  const fromCpuid = cpuid ? snpProductFromCpuid(cpuid.family, cpuid.model) : undefined;
  if (opts.product && fromCpuid && opts.product !== fromCpuid) {
    throw new EvidenceParseError(
      'ERR_SNP_PRODUCT_MISMATCH',
      STEP,
      `SNP report: CPUID family ${cpuid?.family.toString(16)}h model ${cpuid?.model.toString(16)}h is ${fromCpuid}, not ${opts.product}`,
    );
  }
  const product = opts.product ?? fromCpuid;
  const tcb = (o: number) => decodeSnpTcb(raw.subarray(o, o + 8), product);

  const flags = u32(OFF.flags);
  const keySel = (flags >> 2) & 0x7;
  const signingKey = keySel === 0 ? 'vcek' : keySel === 1 ? 'vlek' : keySel === 7 ? 'none' : undefined;
  if (signingKey === undefined)
    throw new EvidenceParseError('ERR_SNP_REPORT_INVALID', STEP, `SNP report: SIGNING_KEY ${keySel} is reserved`);

  return {
    version,
    guestSvn: u32(OFF.guestSvn),
    policy: policy(u64(OFF.policy)),
    familyId: slice(OFF.familyId, 16),
    imageId: slice(OFF.imageId, 16),
    vmpl: u32(OFF.vmpl),
    signatureAlgo: u32(OFF.signatureAlgo),
    currentTcb: tcb(OFF.currentTcb),
    platformInfo: u64(OFF.platformInfo),
    flags,
    authorKeyEn: (flags & 1) === 1,
    maskChipKey: (flags & 2) === 2,
    signingKey,
    reportData: slice(OFF.reportData, 64),
    measurement: slice(OFF.measurement, 48),
    hostData: slice(OFF.hostData, 32),
    idKeyDigest: slice(OFF.idKeyDigest, 48),
    authorKeyDigest: slice(OFF.authorKeyDigest, 48),
    reportId: slice(OFF.reportId, 32),
    reportIdMa: slice(OFF.reportIdMa, 32),
    reportedTcb: tcb(OFF.reportedTcb),
    ...(cpuid ? { cpuid } : {}),
    chipId: slice(OFF.chipId, 64),
    committedTcb: tcb(OFF.committedTcb),
    currentVersion: { major: u8(OFF.currentMajor), minor: u8(OFF.currentMinor), build: u8(OFF.currentBuild) },
    committedVersion: { major: u8(OFF.committedMajor), minor: u8(OFF.committedMinor), build: u8(OFF.committedBuild) },
    launchTcb: tcb(OFF.launchTcb),
    ...(product ? { product } : {}),
    signature: {
      r: scalar(raw.subarray(OFF.signatureR, OFF.signatureR + SNP_SIG_COMPONENT), 'r'),
      s: scalar(raw.subarray(OFF.signatureS, OFF.signatureS + SNP_SIG_COMPONENT), 's'),
    },
    signedBytes: raw.slice(0, SNP_SIGNED_LENGTH),
    raw,
  };
}

/**
 * Decodes a report given as hex text at the edge (optional 0x, whitespace ignored).
 * @example parseSnpReport(snpReportFromText(readFileSync('report.hex', 'utf8')))
 */
export function snpReportFromText(text: string): Uint8Array {
  const s = text.replace(/\s+/g, '');
  if (s.length > SNP_REPORT_SIZE * 2 + 2)
    throw new EvidenceParseError(
      'ERR_SNP_REPORT_SIZE',
      STEP,
      `SNP report: hex text of ${s.length} characters is too long`,
    );
  return fromHex(s, 'SNP report');
}
