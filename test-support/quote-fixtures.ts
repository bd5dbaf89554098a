/** Test-only quote providers (private @ratls/test-support; never in a published package). */
import type { Evidence, QuoteProvider, TeeKind } from '@ratls/attester';
import { readVector } from './vectors.js';

/** A provider returning a real quote from the vectors with the requested report data patched in. */
export class FixedQuoteProvider implements QuoteProvider {
  readonly name = 'fixed-test';
  readonly requested: Uint8Array[] = [];
  constructor(
    readonly tee: TeeKind = 'sgx',
    private readonly patch = true,
  ) {}
  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    this.requested.push(new Uint8Array(reportData));
    const base =
      this.tee === 'tdx'
        ? readVector('tdx/phala-dcap-qvl/tdx_quote.bin')
        : this.tee === 'sev-snp'
          ? readVector('sev-snp/google-go-sev-guest/attestation.bin')
          : readVector('sgx-dcap/phala-dcap-qvl/sgx_quote.bin');
    const q = new Uint8Array(base);
    const at = this.tee === 'tdx' ? 568 : this.tee === 'sev-snp' ? 0x50 : 368;
    if (this.patch) q.set(reportData, at);
    return { tee: this.tee, evidence: q };
  }
}
