/**
 * The one place tests find `../shared/vectors` (override with RATLS_VECTORS). When the folder is
 * absent (a user's clone), suites that need it skip with one clear line.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const VECTORS_DIR = resolve(process.env.RATLS_VECTORS ?? join(here, '..', '..', 'shared', 'vectors'));
export const HAVE_VECTORS = existsSync(join(VECTORS_DIR, 'MANIFEST.md'));
/** Pass as `{ skip: SKIP_NO_VECTORS }` to `test()`/`describe()`. */
export const SKIP_NO_VECTORS: string | false = HAVE_VECTORS
  ? false
  : `test vectors not found at ${VECTORS_DIR} (set RATLS_VECTORS)`;

export function vectorPath(rel: string): string {
  return join(VECTORS_DIR, rel);
}
export function readVector(rel: string): Uint8Array {
  return new Uint8Array(readFileSync(vectorPath(rel)));
}
export function readVectorText(rel: string): string {
  return readFileSync(vectorPath(rel), 'utf8');
}
export function readVectorJson<T = unknown>(rel: string): T {
  return JSON.parse(readVectorText(rel)) as T;
}

export interface DcapCase {
  name: string;
  quote: string;
  collateral: string;
  at: number;
  window: [number, number];
  tee: 'SGX' | 'TDX';
  debug: boolean;
  expect: {
    ok: boolean;
    platformTcb: string;
    qeTcb: string;
    tdxModule: [string, string, number] | null;
    advisoryIds: string[];
    intelQvl: string;
    tcbStatus: string | null;
  };
  identity: Record<string, string | number>;
}
export function dcapCases(): DcapCase[] {
  return HAVE_VECTORS ? readVectorJson<{ cases: DcapCase[] }>('dcap-cases/cases.json').cases : [];
}
