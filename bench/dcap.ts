/**
 * DCAP appraisal benchmark: ratls `verifyQuote` (cold, stateless) and `createQuoteVerifier` (warm:
 * collateral, PCK chain and QE report cached; a quote byte string it has not seen, so the quote
 * signature is verified every time) against @phala/dcap-qvl 0.3.9 on the same quote, collateral
 * and `at`, interleaved in one process. Medians per call.
 * Standalone: node --conditions=development --import tsx bench/dcap.ts
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collateralFromJson, createQuoteVerifier, type QuoteCollateralV3Json, verifyQuote } from '@ratls/verifier';

interface DcapQvl {
  verify(quote: Uint8Array, collateral: QuoteCollateralV3Json, nowSecs: number): { status: string };
}

const here = dirname(fileURLToPath(import.meta.url));
const VECTORS = resolve(process.env.RATLS_VECTORS ?? join(here, '..', '..', 'shared', 'vectors'));

const CASES = [
  {
    tee: 'sgx',
    quote: 'dcap-cases/sgx-dcap__phala-dcap-qvl__sgx_quote.bin.quote.bin',
    collateral: 'dcap-cases/dcapqvl_sgx_2025-06.collateral.json',
    at: 1752919277,
  },
  {
    tee: 'tdx',
    quote: 'dcap-cases/tdx__phala-dcap-qvl__tdx_quote.bin.quote.bin',
    collateral: 'dcap-cases/dcapqvl_tdx_2025-06.collateral.json',
    at: 1752919234,
  },
] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

const fmt = (ms: number) => (ms < 1 ? ms.toFixed(3) : ms.toFixed(2));

export async function run(): Promise<void> {
  const require = createRequire(import.meta.url);
  const qvl = require('@phala/dcap-qvl') as DcapQvl;
  for (const c of CASES) {
    const quote = new Uint8Array(readFileSync(join(VECTORS, c.quote)));
    const colJson = JSON.parse(readFileSync(join(VECTORS, c.collateral), 'utf8')) as QuoteCollateralV3Json;
    const dcapCollateral = collateralFromJson(colJson);
    const qvlStatus = qvl.verify(quote, colJson, c.at).status;
    const ours = await verifyQuote(quote, colJson, { at: c.at });
    if (ours.tcbStatus !== qvlStatus) throw new Error(`status differs: ratls ${ours.tcbStatus}, dcap-qvl ${qvlStatus}`);

    // Distinct quote byte strings that verify identically: real quotes tolerate trailing bytes
    // (MANIFEST §6), so each variant misses the per-quote result cache and is fully re-appraised.
    const VARIANTS = 4096;
    const variants = Array.from({ length: VARIANTS }, (_, i) => {
      const v = new Uint8Array(quote.length + 4);
      v.set(quote);
      new DataView(v.buffer).setUint32(quote.length, i + 1);
      return v;
    });
    const verifier = createQuoteVerifier({
      collateralSource: { getCollateral: async () => dcapCollateral },
      cache: { maxEntries: 64 },
    });
    await verifier.verify(quote, { at: c.at });
    let vi = 0;

    // Warm up the JIT for all three paths before timing anything.
    for (let i = 0; i < 200; i++) {
      await verifyQuote(quote, colJson, { at: c.at });
      await verifier.verify(variants[vi++ % VARIANTS] as Uint8Array, { at: c.at });
      if (i % 5 === 0) qvl.verify(quote, colJson, c.at);
    }
    const cold: number[] = [];
    const warm: number[] = [];
    const peer: number[] = [];
    // Process CPU time (all threads, GC included) per call as well as wall time: on a shared,
    // loaded machine wall medians swing with other processes, CPU time much less.
    const cpu = { cold: 0, warm: 0, peer: 0 };
    const cpuOf = (t: NodeJS.CpuUsage) => {
      const d = process.cpuUsage(t);
      return (d.user + d.system) / 1000;
    };
    const ROUNDS = 15;
    const N = 20;
    for (let r = 0; r < ROUNDS; r++) {
      let u = process.cpuUsage();
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        await verifyQuote(quote, colJson, { at: c.at });
        cold.push(performance.now() - t);
      }
      cpu.cold += cpuOf(u);
      u = process.cpuUsage();
      for (let i = 0; i < N; i++) {
        const t = performance.now();
        qvl.verify(quote, colJson, c.at);
        peer.push(performance.now() - t);
      }
      cpu.peer += cpuOf(u);
      u = process.cpuUsage();
      for (let i = 0; i < N * 5; i++) {
        const v = variants[vi++ % VARIANTS] as Uint8Array;
        const t = performance.now();
        await verifier.verify(v, { at: c.at });
        warm.push(performance.now() - t);
      }
      cpu.warm += cpuOf(u);
    }
    const st = verifier.stats();
    if (st.collateralVerifications !== 1 || st.resultHits !== 0) {
      throw new Error(`warm path did not behave as intended: ${JSON.stringify(st)}`);
    }
    const p = median(peer);
    const co = median(cold);
    const wa = median(warm);
    console.log(
      `verifyQuote ${c.tee} cold: ${fmt(co)} ms, @phala/dcap-qvl ${fmt(p)} ms, ratio ${(p / co).toFixed(1)}x`,
    );
    console.log(
      `createQuoteVerifier ${c.tee} warm: ${fmt(wa)} ms, @phala/dcap-qvl ${fmt(p)} ms, ratio ${(p / wa).toFixed(1)}x`,
    );
    const pc = cpu.peer / peer.length;
    const cc = cpu.cold / cold.length;
    const wc = cpu.warm / warm.length;
    console.log(
      `  process cpu time per call (${c.tee}): cold ${fmt(cc)} ms, warm ${fmt(wc)} ms, @phala/dcap-qvl ${fmt(pc)} ms; ratios ${(pc / cc).toFixed(1)}x cold, ${(pc / wc).toFixed(1)}x warm`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await run();
