/**
 * When a certificate carries several pieces of evidence they must describe one TEE identity:
 * Gramine's certificate legitimately holds two quotes of the same enclave (different report
 * data), and nothing else is acceptable. Platform TCB fields (CPUSVN, TEE_TCB_SVN) are left to
 * appraisal; the enclave/TD identity must match exactly.
 */
import { bytesEqual, toHex } from '../bytes.js';
import { BindingError } from '../errors.js';
import { parseNitroDocument } from '../nitro/parse.js';
import { parseSnpReport } from '../snp/parse.js';
import { EvidenceParses } from './evidence-parses.js';
import type { ExtractedEvidence } from './extract.js';

/** Identity fields by name, hex; equal identities have equal maps. */
export function evidenceIdentity(
  ev: ExtractedEvidence,
  parses: EvidenceParses = new EvidenceParses(),
): Record<string, string> {
  if (ev.tee === 'nitro') {
    const doc = parseNitroDocument(ev.evidence);
    const id: Record<string, string> = { tee: 'nitro' };
    for (const [i, v] of doc.pcrs) id[`pcr${i}`] = toHex(v);
    return id;
  }
  if (ev.tee === 'sev-snp') {
    const r = parseSnpReport(ev.evidence);
    return {
      tee: 'sev-snp',
      measurement: toHex(r.measurement),
      hostData: toHex(r.hostData),
      idKeyDigest: toHex(r.idKeyDigest),
      authorKeyDigest: toHex(r.authorKeyDigest),
      policy: r.policy.raw.toString(16),
    };
  }
  const q = parses.quote(ev);
  if (q.body.kind === 'sgx') {
    const r = q.body.report;
    return {
      tee: 'sgx',
      mrEnclave: toHex(r.mrEnclave),
      mrSigner: toHex(r.mrSigner),
      isvProdId: String(r.isvProdId),
      isvSvn: String(r.isvSvn),
      attributes: toHex(r.attributes),
      miscSelect: String(r.miscSelect),
      configId: toHex(r.configId),
      configSvn: String(r.configSvn),
      isvExtProdId: toHex(r.isvExtProdId),
      isvFamilyId: toHex(r.isvFamilyId),
    };
  }
  const r = q.body.report;
  return {
    tee: 'tdx',
    mrTd: toHex(r.mrTd),
    rtmr0: toHex(r.rtmr[0]),
    rtmr1: toHex(r.rtmr[1]),
    rtmr2: toHex(r.rtmr[2]),
    rtmr3: toHex(r.rtmr[3]),
    mrConfigId: toHex(r.mrConfigId),
    mrOwner: toHex(r.mrOwner),
    mrOwnerConfig: toHex(r.mrOwnerConfig),
    tdAttributes: toHex(r.tdAttributes),
    xfam: toHex(r.xfam),
    mrSeam: toHex(r.mrSeam),
    mrSignerSeam: toHex(r.mrSignerSeam),
  };
}

/**
 * Throws ERR_BINDING_FORMATS_DISAGREE when the evidence list names more than one identity.
 * @example checkEvidenceAgree(extractEvidence(der))
 */
export function checkEvidenceAgree(list: ExtractedEvidence[], parses: EvidenceParses = new EvidenceParses()): void {
  const first = list[0];
  if (!first) return;
  // Made only when there is other evidence to compare with: a lone quote has nothing to agree with.
  let base: Record<string, string> | undefined;
  for (const ev of list.slice(1)) {
    if (bytesEqual(ev.evidence, first.evidence)) continue;
    base ??= evidenceIdentity(first, parses);
    const want = base;
    const other = evidenceIdentity(ev, parses);
    const keys = new Set([...Object.keys(want), ...Object.keys(other)]);
    const diff = [...keys].filter((k) => want[k] !== other[k]);
    if (diff.length > 0) {
      const field = diff[0] as string;
      throw new BindingError(
        'ERR_BINDING_FORMATS_DISAGREE',
        'binding',
        `${first.format} and ${ev.format} evidence describe different TEE identities: ${field} ${want[field] ?? '(absent)'} vs ${other[field] ?? '(absent)'}${diff.length > 1 ? ` (+${diff.length - 1} more fields)` : ''}`,
      );
    }
  }
}
