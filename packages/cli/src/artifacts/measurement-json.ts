/**
 * JSON from TDX and SEV-SNP measurement tools (reference values computed from the image, before
 * any machine runs it): `dstack-mr` / `tdx-measure --json` print `mrtd` and `rtmr0`…`rtmr3`;
 * SNP tools print the launch digest as `measurement`. Key spelling varies between tools (`MRTD`,
 * `mr_td`, `rtmr_0`), so keys are compared lower-case without `_`/`-`; values must be exact hex.
 */
import { RatlsError } from '@ratls/evidence';

export type ToolMeasurements =
  | { tee: 'tdx'; mrTd: string; rtmr: (string | undefined)[] }
  | { tee: 'snp'; measurement: string; hostData?: string };

const MAX_JSON_BYTES = 1024 * 1024;
const malformed = (why: string) =>
  new RatlsError('ERR_ARTIFACT_JSON_MALFORMED', 'artifact', `measurement JSON: ${why}`);

function hexOf(v: unknown, key: string, bytes: number): string {
  const s = typeof v === 'string' ? v.replace(/^0x/i, '') : '';
  if (!new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(s)) throw malformed(`${key} is not ${bytes * 2} hex digits`);
  return s.toLowerCase();
}

/**
 * Recognises a TDX (`mrtd`) or SNP (`measurement`) tool output. Code: ERR_ARTIFACT_JSON_MALFORMED.
 * @example parseMeasurementJson('{"mrtd":"…","rtmr0":"…"}').tee // 'tdx'
 */
export function parseMeasurementJson(text: string): ToolMeasurements {
  if (text.length > MAX_JSON_BYTES) throw malformed(`larger than ${MAX_JSON_BYTES} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw malformed(`not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw malformed('not a JSON object');
  const byKey = new Map<string, unknown>();
  for (const [k, v] of Object.entries(doc)) byKey.set(k.toLowerCase().replace(/[-_]/g, ''), v);
  if (byKey.has('mrtd')) {
    const rtmr = [0, 1, 2, 3].map((i) => {
      const v = byKey.get(`rtmr${i}`);
      return v === undefined ? undefined : hexOf(v, `rtmr${i}`, 48);
    });
    return { tee: 'tdx', mrTd: hexOf(byKey.get('mrtd'), 'mrtd', 48), rtmr };
  }
  const m = byKey.get('measurement') ?? byKey.get('launchdigest');
  if (m !== undefined) {
    const hd = byKey.get('hostdata');
    return {
      tee: 'snp',
      measurement: hexOf(m, 'measurement', 48),
      ...(hd !== undefined ? { hostData: hexOf(hd, 'hostData', 32) } : {}),
    };
  }
  throw malformed('expected mrtd (TDX) or measurement (SEV-SNP)');
}
