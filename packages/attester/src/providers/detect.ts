/**
 * Picks the quote provider this process can use. Never picks the simulated provider: simulation
 * must be asked for by name, so a misconfigured production host fails instead of faking evidence.
 */
import { join } from 'node:path';
import { ProviderError } from '@ratls/evidence';
import { type ConfigfsTsmOptions, ConfigfsTsmProvider, tsmReportDir } from './configfs-tsm.js';
import { nodeProviderFs, type ProviderFs } from './fs.js';
import { GramineQuoteProvider } from './gramine.js';
import type { QuoteProvider } from './types.js';

export interface DetectOptions {
  /** Filesystem root; default `/`. */
  root?: string;
  /** SEV-SNP VMPL for configfs-tsm. */
  privlevel?: number;
  fs?: ProviderFs;
}

/**
 * Gramine when `/dev/attestation` exists, else configfs-tsm when its report directory exists
 * (TEE read from the kernel's `provider` attribute), else ERR_PROVIDER_NOT_FOUND.
 *
 * @example
 * const provider = await detectQuoteProvider();
 */
export async function detectQuoteProvider(opts: DetectOptions = {}): Promise<QuoteProvider> {
  const root = opts.root ?? '/';
  const fs = opts.fs ?? nodeProviderFs;
  const gramineDir = join(root, 'dev', 'attestation');
  if (await fs.exists(gramineDir)) return new GramineQuoteProvider({ root, fs });
  const tsmDir = tsmReportDir(root);
  if (await fs.exists(tsmDir)) {
    const tsmOpts: ConfigfsTsmOptions = { root, fs };
    if (opts.privlevel !== undefined) tsmOpts.privlevel = opts.privlevel;
    return ConfigfsTsmProvider.detect(tsmOpts);
  }
  throw new ProviderError(
    'ERR_PROVIDER_NOT_FOUND',
    'provider',
    `no TEE attestation interface found: looked for ${gramineDir} (Gramine-SGX) and ${tsmDir} (configfs-tsm, TDX/SEV-SNP guests); Nitro and simulation must be chosen explicitly`,
  );
}
