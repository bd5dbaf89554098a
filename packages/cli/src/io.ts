/** Edge helpers for the CLI: reading files, parsing flags, loading trust and collateral, printing. */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, RatlsError, parseQuoteText } from '@ratls/evidence';
import {
  type CollateralSource,
  FileCollateralSource,
  PccsCollateralSource,
  type TrustAnchor,
  defaultTrustAnchors,
  trustAnchorFrom,
} from '@ratls/verifier';

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

/** A problem with how the command was called or with a local file: exit 2, not a refusal. */
export class UsageError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const MAX_INPUT_BYTES = 16 * 1024 * 1024;

export function readInputFile(path: string, what: string): Uint8Array {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UsageError('ERR_INPUT_UNREADABLE', `${what} ${path}: not a regular file`);
    if (st.size > MAX_INPUT_BYTES) throw new UsageError('ERR_INPUT_UNREADABLE', `${what} ${path}: larger than 16 MiB`);
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError('ERR_INPUT_UNREADABLE', `${what} ${path}: ${(e as Error).message}`);
  }
}

/** True when the bytes look like text (hex, PEM, JSON) rather than binary. */
export function looksLikeText(b: Uint8Array): boolean {
  const n = Math.min(b.length, 512);
  for (let i = 0; i < n; i++) {
    const c = b[i] as number;
    if (c === 9 || c === 10 || c === 13) continue;
    if (c < 32 || c > 126) return false;
  }
  return true;
}

/** A quote file is binary, or hex text with or without 0x (as several projects publish them). */
export function readQuoteFile(path: string): Uint8Array {
  const raw = readInputFile(path, 'quote');
  if (!looksLikeText(raw)) return raw;
  try {
    return parseQuoteText(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    throw new UsageError('ERR_INPUT_UNREADABLE', `quote ${path}: text file that is not hex (${(e as Error).message})`);
  }
}

/** `--at` in unix seconds; default now. */
export function parseAt(at: string | undefined): number {
  if (at === undefined) return Math.floor(Date.now() / 1000);
  if (!/^\d{1,12}$/.test(at)) throw new UsageError('ERR_USAGE', `--at: expected unix seconds, got "${at}"`);
  return Number(at);
}

export function loadTrustAnchors(paths: string[] | undefined, warn: (line: string) => void): TrustAnchor[] {
  if (!paths || paths.length === 0) return defaultTrustAnchors();
  const anchors = paths.map((p) => {
    const raw = readInputFile(p, 'trust anchor');
    try {
      return trustAnchorFrom(looksLikeText(raw) ? Buffer.from(raw).toString('utf8') : raw);
    } catch (e) {
      throw new UsageError('ERR_INPUT_UNREADABLE', `trust anchor ${p}: ${(e as Error).message}`);
    }
  });
  for (const a of anchors) {
    if (a.simulated) {
      warn(
        `WARNING: trusting a SIMULATED root (${a.name}). Evidence it verifies proves nothing about real hardware; never use this in production.`,
      );
    }
  }
  return anchors;
}

export interface CollateralFlags {
  collateral?: string[];
  pccs?: string;
  pccsCacheDir?: string;
}

export function loadCollateralSource(flags: CollateralFlags): CollateralSource {
  if (flags.collateral && flags.collateral.length > 0 && flags.pccs) {
    throw new UsageError('ERR_USAGE', 'give either --collateral or --pccs, not both');
  }
  if (flags.collateral && flags.collateral.length > 0) {
    for (const p of flags.collateral) readInputFile(p, 'collateral');
    return new FileCollateralSource(flags.collateral);
  }
  if (flags.pccs) {
    if (!/^https?:\/\//.test(flags.pccs)) throw new UsageError('ERR_USAGE', `--pccs: expected an http(s) URL`);
    return new PccsCollateralSource(flags.pccs, flags.pccsCacheDir ? { cacheDir: flags.pccsCacheDir } : {});
  }
  throw new UsageError('ERR_USAGE', 'collateral is required: --collateral <file> or --pccs <url>');
}

/** The JSON form of an error for `--json` output. */
export function errorJson(e: unknown): { code: string; step: string; message: string } {
  if (e instanceof RatlsError) return e.toJSON();
  if (e instanceof UsageError) return { code: e.code, step: 'usage', message: e.message };
  return { code: 'ERR_INTERNAL', step: 'internal', message: e instanceof Error ? e.message : String(e) };
}

/** Aligned `key  value` lines for human output. */
export function formatRows(rows: Array<[string, string | number | boolean | undefined]>): string {
  const shown = rows.filter(([, v]) => v !== undefined && v !== '');
  const w = Math.max(...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `  ${k.padEnd(w)}  ${String(v)}`).join('\n');
}

export { ConfigError };
