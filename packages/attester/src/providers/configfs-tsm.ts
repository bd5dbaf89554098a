/**
 * Linux configfs-tsm attestation reports (kernel ≥ 6.7; Documentation/ABI/testing/configfs-tsm):
 * one directory per request under /sys/kernel/config/tsm/report/. `provider` names the format
 * (`tdx_guest` → TDX quote, `sev_guest` → SEV-SNP report), `inblob` takes up to 64 bytes of report
 * data, `privlevel` (SNP VMPL) is optional, `outblob` is the evidence, `auxblob` the SNP cert table.
 * `generation` counts writes to inblob and options: re-reading it after `outblob` detects a
 * concurrent writer to the same entry. We use a fresh entry per request and remove it afterwards.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ProviderError, RatlsError } from '@ratls/evidence';
import { nodeProviderFs, type ProviderFs } from './fs.js';
import { checkReportData, ioReason, readBounded, readText, writeOnce } from './io.js';
import { checkEchoedReportData } from './report-data.js';
import type { Evidence, QuoteProvider, TeeKind } from './types.js';

/** Kernel TSM_OUTBLOB_MAX is 32 KiB; allow twice that for newer kernels, and no more. */
export const MAX_OUTBLOB_BYTES = 64 * 1024;
/** SNP cert table (VCEK/VLEK, ASK, ARK): a few KiB. */
export const MAX_AUXBLOB_BYTES = 64 * 1024;
/** TSM_PRIVLEVEL_MAX (include/linux/tsm.h). */
export const MAX_PRIVLEVEL = 3;

export type TsmTee = Extract<TeeKind, 'tdx' | 'sev-snp'>;

const TSM_PROVIDERS: Record<string, TsmTee> = { tdx_guest: 'tdx', sev_guest: 'sev-snp' };

export interface ConfigfsTsmOptions {
  /** Filesystem root; tests point this at a fake tree. Default `/`. */
  root?: string;
  /** SEV-SNP only: VMPL to request (0..3). Written to `privlevel` when given. */
  privlevel?: number;
  fs?: ProviderFs;
}

export interface ConfigfsTsmProviderOptions extends ConfigfsTsmOptions {
  /** The TEE this guest is expected to be; a different `provider` file fails the request. */
  tee: TsmTee;
}

/** The configfs-tsm report directory under `root`. */
export function tsmReportDir(root = '/'): string {
  return join(root, 'sys', 'kernel', 'config', 'tsm', 'report');
}

/**
 * Gets TDX quotes or SEV-SNP reports through configfs-tsm.
 *
 * @example
 * const provider = await ConfigfsTsmProvider.detect();      // reads `provider` once
 * const { tee, evidence, aux } = await provider.getEvidence(reportData64);
 */
export class ConfigfsTsmProvider implements QuoteProvider {
  readonly name = 'configfs-tsm';
  readonly tee: TsmTee;
  readonly dir: string;
  readonly privlevel: number | undefined;
  readonly #fs: ProviderFs;

  constructor(opts: ConfigfsTsmProviderOptions) {
    if (opts.tee !== 'tdx' && opts.tee !== 'sev-snp') {
      throw new ProviderError(
        'ERR_PROVIDER_TEE_UNSUPPORTED',
        'provider',
        `configfs-tsm: tee must be "tdx" or "sev-snp", got "${String(opts.tee)}"`,
      );
    }
    if (opts.privlevel !== undefined) {
      if (opts.tee !== 'sev-snp') {
        throw new ProviderError(
          'ERR_PROVIDER_PRIVLEVEL',
          'provider',
          'configfs-tsm: privlevel applies to SEV-SNP (VMPL) only, not TDX',
        );
      }
      if (!Number.isInteger(opts.privlevel) || opts.privlevel < 0 || opts.privlevel > MAX_PRIVLEVEL) {
        throw new ProviderError(
          'ERR_PROVIDER_PRIVLEVEL',
          'provider',
          `configfs-tsm: privlevel must be an integer 0..${MAX_PRIVLEVEL}, got ${opts.privlevel}`,
        );
      }
    }
    this.tee = opts.tee;
    this.dir = tsmReportDir(opts.root);
    this.privlevel = opts.privlevel;
    this.#fs = opts.fs ?? nodeProviderFs;
  }

  /** Creates a provider whose TEE is read from the kernel's `provider` attribute. */
  static async detect(opts: ConfigfsTsmOptions = {}): Promise<ConfigfsTsmProvider> {
    const fs = opts.fs ?? nodeProviderFs;
    const tee = await withEntry(fs, tsmReportDir(opts.root), (entry) => readTee(fs, entry));
    return new ConfigfsTsmProvider({ ...opts, tee });
  }

  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    checkReportData(reportData, this.name);
    const fs = this.#fs;
    return withEntry(fs, this.dir, async (entry) => {
      const tee = await readTee(fs, entry);
      if (tee !== this.tee) {
        throw new ProviderError(
          'ERR_PROVIDER_TEE_MISMATCH',
          'provider',
          `configfs-tsm: expected a ${this.tee} guest, the kernel provider is ${tee}`,
        );
      }
      const before = await readGeneration(fs, entry);
      let writes = 0;
      if (this.privlevel !== undefined) {
        // The kernel refuses privlevel below privlevel_floor (the VMPL the guest runs at); say so plainly.
        const floorPath = join(entry, 'privlevel_floor');
        if (await fs.exists(floorPath)) {
          const floor = await readText(fs, floorPath, 'configfs-tsm privlevel_floor', 16);
          if (/^[0-9]{1,2}$/.test(floor) && this.privlevel < Number(floor)) {
            throw new ProviderError(
              'ERR_PROVIDER_PRIVLEVEL',
              'provider',
              `configfs-tsm: privlevel ${this.privlevel} is below ${floorPath} (${floor})`,
            );
          }
        }
        await writeOnce(fs, join(entry, 'privlevel'), Buffer.from(String(this.privlevel)), 'configfs-tsm privlevel');
        writes++;
      }
      await writeOnce(fs, join(entry, 'inblob'), reportData, 'configfs-tsm inblob');
      writes++;
      const evidence = await readBounded(fs, join(entry, 'outblob'), MAX_OUTBLOB_BYTES, 'configfs-tsm outblob');
      let aux: Uint8Array | undefined;
      const auxPath = join(entry, 'auxblob');
      if (await fs.exists(auxPath)) {
        const a = await readBounded(fs, auxPath, MAX_AUXBLOB_BYTES, 'configfs-tsm auxblob', true);
        if (a.length > 0) aux = a;
      }
      const after = await readGeneration(fs, entry);
      if (after !== before + writes) {
        throw new ProviderError(
          'ERR_PROVIDER_GENERATION_MISMATCH',
          'provider',
          `configfs-tsm: ${entry}/generation went ${before} → ${after}, expected ${before + writes} after our ${writes} write(s): another writer changed the request`,
        );
      }
      checkEchoedReportData(tee, evidence, reportData, this.name);
      return aux === undefined ? { tee, evidence } : { tee, evidence, aux };
    });
  }
}

async function readTee(fs: ProviderFs, entry: string): Promise<TsmTee> {
  const name = await readText(fs, join(entry, 'provider'), 'configfs-tsm provider');
  const tee = Object.hasOwn(TSM_PROVIDERS, name) ? TSM_PROVIDERS[name] : undefined;
  if (tee === undefined) {
    throw new ProviderError(
      'ERR_PROVIDER_UNKNOWN_TSM',
      'provider',
      `configfs-tsm: ${entry}/provider is "${name.slice(0, 32)}", expected tdx_guest or sev_guest`,
    );
  }
  return tee;
}

async function readGeneration(fs: ProviderFs, entry: string): Promise<number> {
  const text = await readText(fs, join(entry, 'generation'), 'configfs-tsm generation', 32);
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new ProviderError(
      'ERR_PROVIDER_GENERATION_INVALID',
      'provider',
      `configfs-tsm: ${entry}/generation is "${text.slice(0, 32)}", not a decimal count`,
    );
  }
  return Number(text);
}

/** mkdir a fresh entry, run `fn`, and rmdir the entry whatever happened. */
async function withEntry<T>(fs: ProviderFs, dir: string, fn: (entry: string) => Promise<T>): Promise<T> {
  if (!(await fs.exists(dir))) {
    throw new ProviderError(
      'ERR_PROVIDER_NOT_FOUND',
      'provider',
      `configfs-tsm: ${dir} does not exist (kernel < 6.7, no TSM driver, or configfs not mounted)`,
    );
  }
  const entry = join(dir, `ratls-${process.pid}-${randomBytes(8).toString('hex')}`);
  try {
    await fs.mkdir(entry);
  } catch (e) {
    throw new ProviderError('ERR_PROVIDER_MKDIR', 'provider', `configfs-tsm: cannot create ${entry} (${ioReason(e)})`, {
      cause: e,
    });
  }
  let result: T;
  try {
    result = await fn(entry);
  } catch (e) {
    // Remove the entry, but the original failure is the one to report.
    await fs.rmdir(entry).catch(() => undefined);
    throw e instanceof RatlsError
      ? e
      : new ProviderError('ERR_PROVIDER_IO', 'provider', `configfs-tsm: unexpected failure (${ioReason(e)})`, {
          cause: e,
        });
  }
  try {
    await fs.rmdir(entry);
  } catch (e) {
    // A leaked entry pins kernel memory and keeps our report readable: fail loudly.
    throw new ProviderError(
      'ERR_PROVIDER_CLEANUP',
      'provider',
      `configfs-tsm: cannot remove ${entry} (${ioReason(e)})`,
      { cause: e },
    );
  }
  return result;
}
