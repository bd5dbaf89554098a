/**
 * Gramine's `/dev/attestation` pseudo-filesystem (Gramine docs, "Attestation and Secret
 * Provisioning": `attestation_type` reads `none`, `epid` or `dcap`; writing 64 bytes to
 * `user_report_data` sets SGX REPORTDATA; reading `quote` returns the quote over it).
 * The interface is process-global and not thread-safe (Gramine libos/src/fs/dev/attestation.c),
 * so calls through the same root are serialized.
 */
import { join } from 'node:path';
import { ProviderError } from '@ratls/evidence';
import { nodeProviderFs, type ProviderFs } from './fs.js';
import { checkReportData, readBounded, readText, writeOnce } from './io.js';
import { checkEchoedReportData } from './report-data.js';
import { serialized } from './serialize.js';
import type { Evidence, QuoteProvider } from './types.js';

/** Largest quote accepted from `/dev/attestation/quote` (a DCAP quote with its PCK chain is ~5 KiB). */
export const MAX_QUOTE_BYTES = 64 * 1024;

export interface GramineQuoteProviderOptions {
  /** Filesystem root; tests point this at a fake tree. Default `/`. */
  root?: string;
  /** Filesystem operations; default node:fs. */
  fs?: ProviderFs;
}

/**
 * Gets SGX DCAP quotes from Gramine.
 *
 * @example
 * const provider = new GramineQuoteProvider();
 * const { evidence } = await provider.getEvidence(reportData64);
 */
export class GramineQuoteProvider implements QuoteProvider {
  readonly name = 'gramine';
  readonly tee = 'sgx' as const;
  readonly dir: string;
  readonly #fs: ProviderFs;

  constructor(opts: GramineQuoteProviderOptions = {}) {
    this.dir = join(opts.root ?? '/', 'dev', 'attestation');
    this.#fs = opts.fs ?? nodeProviderFs;
  }

  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    checkReportData(reportData, this.name);
    return serialized(`gramine:${this.dir}`, () => this.#attest(reportData));
  }

  async #attest(reportData: Uint8Array): Promise<Evidence> {
    const fs = this.#fs;
    if (!(await fs.exists(this.dir))) {
      throw new ProviderError(
        'ERR_PROVIDER_NOT_FOUND',
        'provider',
        `gramine: ${this.dir} does not exist (not running inside Gramine-SGX?)`,
      );
    }
    const typePath = join(this.dir, 'attestation_type');
    const type = await readText(fs, typePath, 'gramine attestation_type');
    if (type !== 'dcap') {
      throw new ProviderError(
        'ERR_PROVIDER_ATTESTATION_TYPE',
        'provider',
        `gramine: ${typePath} is "${type.slice(0, 32)}", need "dcap" (set sgx.remote_attestation = "dcap" in the manifest)`,
      );
    }
    await writeOnce(fs, join(this.dir, 'user_report_data'), reportData, 'gramine user_report_data');
    const quote = await readBounded(fs, join(this.dir, 'quote'), MAX_QUOTE_BYTES, 'gramine quote');
    checkEchoedReportData('sgx', quote, reportData, this.name);
    return { tee: 'sgx', evidence: quote };
  }
}
