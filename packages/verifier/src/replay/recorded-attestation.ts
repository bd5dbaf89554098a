/**
 * Reads the `trace.attestation` of an audit event back into `RecordedClaims` (trace version 1).
 * Strict: an unknown version, a missing field or a wrong type is refused, so replay never evaluates
 * a half-understood record. The output is plain recorded data, never a verified result.
 */
import { RatlsError, TCB_STATUSES } from '@ratls/evidence';
import { z } from 'zod';
import type { RecordedClaims } from '../policy/claims.js';

const hex = z
  .string()
  .max(4096)
  .regex(/^[0-9a-fA-F]*$/)
  .transform((s) => s.toLowerCase());
const u32 = z.number().int().min(0).max(0xffffffff);
const seconds = z.number().int();
const tcbStatus = z.enum(TCB_STATUSES);

const base = {
  v: z.literal(1),
  simulated: z.boolean(),
  evidenceSha256: hex,
  debug: z.boolean(),
  collateralWindow: z.object({ notBefore: seconds, notAfter: seconds }),
};
const dcap = {
  ...base,
  quoteVersion: u32,
  tcbStatus,
  platformTcbStatus: tcbStatus,
  qeTcbStatus: tcbStatus,
  advisoryIds: z.array(z.string().max(64)).max(64),
  fmspc: hex,
  tcbDate: z.string().max(64).optional(),
  collateralVersions: z
    .object({ tcbInfoIssueDate: seconds, qeIdentityIssueDate: seconds, tcbEvaluationDataNumber: u32 })
    .optional(),
};

const sgx = z.object({
  ...dcap,
  tee: z.literal('sgx'),
  measurements: z.object({
    mrEnclave: hex,
    mrSigner: hex,
    isvProdId: u32,
    isvSvn: u32,
    attributes: hex,
    configSvn: u32.optional(),
    miscSelect: hex.optional(),
  }),
});
const tdx = z.object({
  ...dcap,
  tee: z.literal('tdx'),
  tdxModuleTcbStatus: tcbStatus,
  tdxModuleId: z.string().max(64).optional(),
  measurements: z.object({
    mrTd: hex,
    rtmr0: hex,
    rtmr1: hex,
    rtmr2: hex,
    rtmr3: hex,
    mrSeam: hex,
    tdAttributes: hex,
    xfam: hex.optional(),
    mrConfigId: hex.optional(),
    mrOwner: hex.optional(),
    mrOwnerConfig: hex.optional(),
    mrServiceTd: hex.optional(),
    teeTcbSvn: hex.optional(),
  }),
});
const snp = z.object({
  ...base,
  tee: z.literal('sev-snp'),
  reportVersion: u32,
  measurements: z.object({
    measurement: hex,
    hostData: hex,
    idKeyDigest: hex,
    authorKeyDigest: hex,
    policy: hex,
    vmpl: u32,
    reportedTcb: z.object({
      bootloader: u32,
      tee: u32,
      snp: u32,
      microcode: u32,
      fmc: u32.optional(),
    }),
    chipId: hex,
    signingKey: z.enum(['vcek', 'vlek']),
    product: z.string().max(32).optional(),
  }),
});
const nitro = z.object({
  ...base,
  tee: z.literal('nitro'),
  measurements: z.object({
    moduleId: z.string().max(256),
    digest: z.string().max(32),
    pcrs: z.record(z.string().regex(/^\d{1,2}$/), hex),
    timestamp: z.number().int().min(0),
  }),
});

const recorded = z.discriminatedUnion('tee', [sgx, tdx, snp, nitro]);

/**
 * Parses a recorded attestation (`trace.attestation`, version 1) into RecordedClaims, or throws
 * ERR_REPLAY_RECORD_INVALID naming the first problem.
 * @example const claims = parseRecordedAttestation(JSON.parse(line).trace.attestation)
 */
export function parseRecordedAttestation(value: unknown): RecordedClaims {
  const v = (value as { v?: unknown } | null)?.v;
  if (v !== 1) {
    throw new RatlsError(
      'ERR_REPLAY_RECORD_INVALID',
      'replay',
      `recorded attestation has version ${JSON.stringify(v) ?? 'none'}; this ratls reads version 1`,
    );
  }
  const r = recorded.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue?.path.join('.') || '(root)';
    throw new RatlsError(
      'ERR_REPLAY_RECORD_INVALID',
      'replay',
      `recorded attestation is invalid at ${where}: ${issue?.message ?? 'unknown problem'}`,
    );
  }
  const { v: _v, ...claims } = r.data;
  // Report data binds the TLS key; it is not recorded (docs/audit.md) and no policy reads it.
  if (claims.tee !== 'nitro')
    return { ...claims, measurements: { ...claims.measurements, reportData: '' } } as RecordedClaims;
  return claims as RecordedClaims;
}
