/**
 * `nitro-cli describe-eif` and `nitro-cli build-enclave` JSON output (AWS Nitro Enclaves CLI):
 * both carry `Measurements` with `PCR0` (image), `PCR1` (kernel and boot ramfs), `PCR2`
 * (application) and, for a signed EIF, `PCR8` (signing certificate), as 96 hex digits (SHA-384).
 */
import { RatlsError } from '@ratls/evidence';

export interface EifMeasurements {
  pcr0: string;
  pcr1?: string;
  pcr2?: string;
  pcr8?: string;
}

/** EIF descriptions are a few KiB. */
const MAX_JSON_BYTES = 1024 * 1024;
const PCR_RE = /^[0-9a-fA-F]{96}$/;

const malformed = (why: string) => new RatlsError('ERR_ARTIFACT_JSON_MALFORMED', 'artifact', `EIF JSON: ${why}`);

/**
 * Reads the PCRs from nitro-cli's JSON. PCR0 is required; the others are taken when present.
 * Code: ERR_ARTIFACT_JSON_MALFORMED.
 *
 * @example parseEifJson(readFileSync('describe-eif.json', 'utf8')).pcr0
 */
export function parseEifJson(text: string): EifMeasurements {
  if (text.length > MAX_JSON_BYTES) throw malformed(`larger than ${MAX_JSON_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw malformed(`not JSON: ${(e as Error).message}`);
  }
  const m = (doc as { Measurements?: unknown } | null)?.Measurements;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) throw malformed('no Measurements object');
  const get = (k: 'PCR0' | 'PCR1' | 'PCR2' | 'PCR8'): string | undefined => {
    const v = (m as Record<string, unknown>)[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !PCR_RE.test(v)) throw malformed(`Measurements.${k} is not 96 hex digits`);
    return v.toLowerCase();
  };
  const pcr0 = get('PCR0');
  if (!pcr0) throw malformed('Measurements.PCR0 is missing');
  const out: EifMeasurements = { pcr0 };
  for (const [k, f] of [
    ['PCR1', 'pcr1'],
    ['PCR2', 'pcr2'],
    ['PCR8', 'pcr8'],
  ] as const) {
    const v = get(k);
    if (v) out[f] = v;
  }
  return out;
}
