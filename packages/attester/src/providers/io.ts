/** Typed wrappers around ProviderFs: every failure becomes a ProviderError naming the path. */
import { ProviderError } from '@ratls/evidence';
import type { ProviderFs } from './fs.js';

const STEP = 'provider';

function reason(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}

/** Reads `path`, failing when it is larger than `max` bytes or (unless `allowEmpty`) empty. */
export async function readBounded(
  fs: ProviderFs,
  path: string,
  max: number,
  what: string,
  allowEmpty = false,
): Promise<Uint8Array> {
  let data: Uint8Array;
  try {
    data = await fs.readFile(path, max);
  } catch (e) {
    throw new ProviderError('ERR_PROVIDER_READ', STEP, `${what}: cannot read ${path} (${reason(e)})`, { cause: e });
  }
  if (data.length > max) {
    throw new ProviderError(
      'ERR_PROVIDER_OUTPUT_TOO_LARGE',
      STEP,
      `${what}: ${path} is larger than the ${max}-byte limit`,
    );
  }
  if (data.length === 0 && !allowEmpty) {
    throw new ProviderError('ERR_PROVIDER_OUTPUT_EMPTY', STEP, `${what}: ${path} is empty`);
  }
  return data;
}

/** Reads a short text attribute (a few bytes, trailing newline trimmed). */
export async function readText(fs: ProviderFs, path: string, what: string, max = 256): Promise<string> {
  const data = await readBounded(fs, path, max, what, true);
  return Buffer.from(data).toString('utf8').trim();
}

export async function writeOnce(fs: ProviderFs, path: string, data: Uint8Array, what: string): Promise<void> {
  try {
    await fs.writeFile(path, data);
  } catch (e) {
    throw new ProviderError('ERR_PROVIDER_WRITE', STEP, `${what}: cannot write ${path} (${reason(e)})`, {
      cause: e,
    });
  }
}

export function checkReportData(reportData: Uint8Array, provider: string): void {
  if (!(reportData instanceof Uint8Array) || reportData.length !== 64) {
    const n = reportData instanceof Uint8Array ? reportData.length : typeof reportData;
    throw new ProviderError(
      'ERR_PROVIDER_REPORT_DATA_LENGTH',
      STEP,
      `${provider}: report data must be exactly 64 bytes, got ${n}`,
    );
  }
}

export { reason as ioReason };
