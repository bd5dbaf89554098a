/**
 * SEV-SNP report and Nitro document appraisal: median time per call, cold (stateless: chain,
 * extensions and signatures verified every call) and warm (a VerifiedChainCache reused: only the
 * report/document signature and the cheap re-checks run). No in-process peer is installed to compare with.
 * Standalone: node --conditions=development --import tsx bench/snp-nitro.ts
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nitroDocumentFromText } from '@ratls/evidence';
import { VerifiedChainCache, verifyNitroDocument, verifySnpReport } from '@ratls/verifier';

const here = dirname(fileURLToPath(import.meta.url));
const VECTORS = resolve(process.env.RATLS_VECTORS ?? join(here, '..', '..', 'shared', 'vectors'));
const bytes = (p: string): Uint8Array => new Uint8Array(readFileSync(join(VECTORS, p)));
const text = (p: string): string => readFileSync(join(VECTORS, p), 'utf8');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function time(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 5; i++) await fn();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(xs);
}

export async function run(): Promise<void> {
  const N = Number(process.env.BENCH_N ?? 200);
  const report = bytes('sev-snp/google-go-sev-guest/attestation.bin');
  const vcek = bytes('sev-snp/google-go-sev-guest/vcek.testcer');
  const chain = text('roots/amd/ask_ark_milan.pem');
  const snpAt = Date.parse('2022-09-24T01:00:00Z') / 1000;
  const snpCache = new VerifiedChainCache();
  const snpCold = await time(N, () => verifySnpReport(report, { at: snpAt, vcek, chain }));
  const snpWarm = await time(N, () => verifySnpReport(report, { at: snpAt, vcek, chain, chainCache: snpCache }));
  console.log(
    `verifySnpReport (Milan, VCEK chain) cold: ${snpCold.toFixed(3)} ms, warm (chain cached): ${snpWarm.toFixed(3)} ms, ratio ${(snpCold / snpWarm).toFixed(1)}x`,
  );

  const doc = nitroDocumentFromText(text('nitro/evervault/test-data/valid-attestation-doc-base64'));
  const nitroAt = 1695050165;
  const nitroCache = new VerifiedChainCache();
  const nitroCold = await time(N, () => verifyNitroDocument(doc, { at: nitroAt }));
  const nitroWarm = await time(N, () => verifyNitroDocument(doc, { at: nitroAt, chainCache: nitroCache }));
  console.log(
    `verifyNitroDocument (4-cert cabundle) cold: ${nitroCold.toFixed(3)} ms, warm (chain cached): ${nitroWarm.toFixed(3)} ms, ratio ${(nitroCold / nitroWarm).toFixed(1)}x`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await run();
