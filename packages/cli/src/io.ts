/** Edge helpers for the CLI: reading files, parsing flags, loading trust and collateral, printing. */
import { X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError, nitroDocumentFromText, parseQuoteText, RatlsError, SNP_REPORT_SIZE } from '@ratls/evidence';
import {
  BundleCollateralSource,
  bundleKdsSource,
  type CollateralSource,
  defaultTrustAnchors,
  FileCollateralSource,
  KdsCollateralSource,
  PccsCollateralSource,
  type TrustAnchor,
  trustAnchorFrom,
} from '@ratls/verifier';

/** Exit codes shared by every command. */
export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

/** A problem with how the command was called or with a local file: exit 2, not a refusal. */
export class UsageError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
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
  const other = misdirectedInput(raw);
  if (other) throw new UsageError('ERR_INPUT_UNRECOGNISED', `quote ${path}: this is ${other}`);
  if (!looksLikeText(raw)) return raw;
  try {
    return parseQuoteText(Buffer.from(raw).toString('utf8'));
  } catch (e) {
    throw new UsageError('ERR_INPUT_UNREADABLE', `quote ${path}: text file that is not hex (${(e as Error).message})`);
  }
}

export type EvidenceKind = 'dcap' | 'sev-snp' | 'nitro';

/** Which evidence bytes are: a COSE_Sign1 array (Nitro), a 1184-byte report v2-5 (SNP), else a DCAP quote. */
export function evidenceKind(b: Uint8Array): EvidenceKind {
  if (b[0] === 0x84 || (b[0] === 0xd2 && b[1] === 0x84)) return 'nitro';
  if (b.length === SNP_REPORT_SIZE) {
    const version = (b[0] as number) | ((b[1] as number) << 8) | ((b[2] as number) << 16) | ((b[3] as number) << 24);
    if (version >= 2 && version <= 5) return 'sev-snp';
  }
  return 'dcap';
}

/**
 * Evidence of any kind: binary, or hex text (with or without 0x), or base64 text (Nitro documents
 * are often published that way). The kind is detected from the decoded bytes.
 */
export function readEvidenceFile(path: string): { kind: EvidenceKind; bytes: Uint8Array } {
  const raw = readInputFile(path, 'evidence');
  const other = misdirectedInput(raw);
  if (other) throw new UsageError('ERR_INPUT_UNRECOGNISED', `evidence ${path}: this is ${other}`);
  if (!looksLikeText(raw)) return { kind: evidenceKind(raw), bytes: raw };
  const text = Buffer.from(raw).toString('utf8');
  const compact = text.replace(/\s+/g, '').replace(/^0x/i, '');
  if (/^[0-9a-fA-F]+$/.test(compact) && compact.length % 2 === 0) {
    const bytes = new Uint8Array(Buffer.from(compact, 'hex'));
    return { kind: evidenceKind(bytes), bytes };
  }
  let bytes: Uint8Array;
  try {
    bytes = nitroDocumentFromText(text);
  } catch (e) {
    throw new UsageError(
      'ERR_INPUT_UNREADABLE',
      `evidence ${path}: text that is neither hex nor base64 (${(e as Error).message})`,
    );
  }
  // Only Nitro documents are published as base64; anything else decoded from it is not evidence.
  if (evidenceKind(bytes) !== 'nitro') {
    throw new UsageError('ERR_INPUT_UNREADABLE', `evidence ${path}: text that is not hex, nor a base64 Nitro document`);
  }
  return { kind: 'nitro', bytes };
}

/** Trust anchors from files, or undefined for "the built-in default" (SNP: AMD ARKs; Nitro: AWS root). */
export function loadOptionalAnchors(
  paths: string[] | undefined,
  warn: (line: string) => void,
): TrustAnchor[] | undefined {
  return paths && paths.length > 0 ? loadTrustAnchors(paths, warn) : undefined;
}

export interface SnpFlags {
  vcek?: string;
  chain?: string;
  kds?: string;
  kdsCacheDir?: string;
  product?: string;
  /** A single directory here is an offline bundle: its KDS answers serve when no --kds is given. */
  collateral?: string[];
}

const SNP_PRODUCT_NAMES = ['Milan', 'Genoa', 'Turin'] as const;

/** SEV-SNP appraisal inputs from flags (VCEK/chain files, KDS URL, product line). */
export function loadSnpFlags(f: SnpFlags): {
  vcek?: Uint8Array | string;
  chain?: string;
  kds?: KdsCollateralSource;
  product?: (typeof SNP_PRODUCT_NAMES)[number];
} {
  const out: ReturnType<typeof loadSnpFlags> = {};
  if (f.vcek) {
    const raw = readInputFile(f.vcek, 'VCEK');
    out.vcek = looksLikeText(raw) ? Buffer.from(raw).toString('utf8') : raw;
  }
  if (f.chain) out.chain = Buffer.from(readInputFile(f.chain, 'SNP certificate chain')).toString('utf8');
  if (f.kds) {
    if (!/^https?:\/\//.test(f.kds)) throw new UsageError('ERR_USAGE', '--kds: expected an http(s) URL');
    out.kds = new KdsCollateralSource(f.kds, f.kdsCacheDir ? { cacheDir: f.kdsCacheDir } : {});
  } else {
    const dir = bundleDir(f.collateral);
    if (dir) out.kds = bundleKdsSource(dir);
  }
  if (f.product !== undefined) {
    const p = SNP_PRODUCT_NAMES.find((n) => n.toLowerCase() === f.product?.toLowerCase());
    if (!p) throw new UsageError('ERR_USAGE', `--product must be Milan, Genoa or Turin, got "${f.product}"`);
    out.product = p;
  }
  return out;
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

/**
 * The bundle directory when `--collateral` names exactly one directory holding a `bundle.json`
 * manifest (`ratls collateral fetch --out`); any other folder (a simulator's) is read as its
 * `collateral*.json` files.
 */
function bundleDir(paths: string[] | undefined): string | undefined {
  if (!paths || paths.length !== 1) return undefined;
  const p = paths[0] as string;
  try {
    return statSync(p).isDirectory() && existsSync(join(p, 'bundle.json')) ? p : undefined;
  } catch {
    return undefined;
  }
}

export function loadCollateralSource(flags: CollateralFlags): CollateralSource {
  if (flags.collateral && flags.collateral.length > 0 && flags.pccs) {
    throw new UsageError('ERR_USAGE', 'give either --collateral or --pccs, not both');
  }
  const bundle = bundleDir(flags.collateral);
  if (bundle) {
    try {
      return new BundleCollateralSource(bundle);
    } catch (e) {
      throw new UsageError('ERR_INPUT_UNREADABLE', `--collateral ${bundle}: ${(e as Error).message}`);
    }
  }
  if (flags.collateral && flags.collateral.length > 0) {
    const files = flags.collateral.flatMap(collateralFiles);
    for (const p of files) readInputFile(p, 'collateral');
    return new FileCollateralSource(files);
  }
  if (flags.pccs) {
    if (!/^https?:\/\//.test(flags.pccs)) throw new UsageError('ERR_USAGE', `--pccs: expected an http(s) URL`);
    return new PccsCollateralSource(flags.pccs, flags.pccsCacheDir ? { cacheDir: flags.pccsCacheDir } : {});
  }
  throw new UsageError('ERR_USAGE', 'collateral is required: --collateral <file> or --pccs <url>');
}

/**
 * `--collateral` names a file, or a folder holding collateral files (a simulator folder from
 * `ratls sim init`, or a bundle of `collateral*.json`): every `collateral*.json` in it, sorted.
 * @example collateralFiles('./sim') // ['./sim/collateral-tdx.json', './sim/collateral.json']
 */
export function collateralFiles(path: string): string[] {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // Not there: readInputFile reports it with the flag's name.
  }
  if (!isDir) return [path];
  const names = readdirSync(path)
    .filter((n) => /^collateral.*\.json$/.test(n))
    .sort();
  if (names.length === 0)
    throw new UsageError(
      'ERR_INPUT_UNREADABLE',
      `collateral ${path}: a folder with no collateral*.json (expected a folder from \`ratls sim init\` or a collateral bundle)`,
    );
  return names.map((n) => join(path, n));
}

/**
 * Says what a file is when it is not what the command reads, naming the command that reads it
 * (a certificate given to `verify-quote`, collateral given as evidence). Undefined when unknown.
 * @example misdirectedInput(pemCertBytes) // 'an X.509 certificate: use `ratls verify-cert` …'
 */
export function misdirectedInput(raw: Uint8Array): string | undefined {
  const head = Buffer.from(raw.subarray(0, 4096)).toString('latin1');
  const text = head.trimStart();
  // Collateral JSON carries PEM certificates (its issuer chains): recognise it before those.
  if (text.startsWith('{') && /tcb_?info|qe_?identity|pck_?crl/i.test(head))
    return 'DCAP collateral JSON: pass it with `--collateral <file>` and give the quote as the argument';
  if (/^version:\s*1\b/m.test(text) && /identities:/.test(head))
    return 'a policy file: check it with `ratls policy check <file>`';
  const certHint =
    'an X.509 certificate: use `ratls verify-cert <file>` (or `ratls inspect <file>`) for RA-TLS certificates';
  // Only a file that starts as PEM: a quote carries its PCK chain as PEM text inside it.
  if (text.startsWith('-----BEGIN CERTIFICATE-----')) return certHint;
  if (/^-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return 'a private key, not evidence';
  if (raw[0] === 0x30 && raw.length < MAX_INPUT_BYTES) {
    try {
      new X509Certificate(raw);
      return certHint;
    } catch {
      // Not a DER certificate: let the evidence readers decide.
    }
  }
  return undefined;
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

/**
 * The directory the user typed the command in. `npm run ratls -- …` runs the CLI from the
 * package's own folder and names the caller's folder in INIT_CWD; elsewhere (including a CLI that
 * a script under `npm test` spawns in another folder) the process's own directory is the caller's.
 * @example process.chdir(callerCwd(process.env, process.cwd()))
 */
export function callerCwd(env: NodeJS.ProcessEnv, cwd: string): string {
  const init = env.INIT_CWD;
  const pkg = env.npm_package_json;
  if (init && pkg && env.npm_lifecycle_event && dirname(pkg) === cwd) return init;
  return cwd;
}
