/**
 * DCAP appraisal benchmark, all in one process, interleaved round by round:
 *   floor   the nine ECDSA P-256 verifications one appraisal needs (PCK leaf and CA, two CRLs, TCB
 *           signing certificate, TCB info, QE identity, QE report, quote), replayed with the exact
 *           bytes and already-imported keys: the cryptographic floor (ARCHITECTURE, DCAP appraisal)
 *   cold    ratls `verifyQuote`, stateless, with a fresh collateral object on every call (its only
 *           cache is the imported-key cache of pki/keys.ts: DER bytes → KeyObject)
 *   warm    `createQuoteVerifier`: collateral, PCK chain and QE report cached; a quote byte string
 *           it has not seen, so the quote signature is verified every time
 *   peer    @phala/dcap-qvl 0.3.9 on the same quote, collateral and `at`
 * Per-call process CPU time (all threads, GC included) and wall time; medians with the range of
 * round medians. Goals (issue 12): cold ≤ 1.5× floor, warm ≥ 50× faster than the peer.
 * Standalone: node --conditions=development --import tsx bench/dcap.ts [--quick] [--cold-only]
 * `--cold-only` times only the cold `verifyQuote` loop (60 rounds): for a CPU profile of the
 * stateless path without the floor, the warm verifier and the peer in it, e.g.
 *   node --cpu-prof --cpu-prof-interval 100 --conditions=development --import tsx bench/dcap.ts --cold-only
 *   node --conditions=development --import tsx bench/profile-summary.ts CPU.*.cpuprofile --top 40
 */
import crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { collateralFromJson, createQuoteVerifier, type QuoteCollateralV3Json, verifyQuote } from '@ratls/verifier';
import { type BenchOptions, cpuMsSince, fmtMs, fmtRatio, optionsFromArgv, Rounds } from './stats.js';

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

type VerifyArgs = Parameters<typeof crypto.verify>;

/**
 * The exact `crypto.verify` calls one appraisal makes, recorded by wrapping the builtin for one
 * call (syncBuiltinESMExports makes ESM importers see the wrapper) and then restoring it.
 */
async function recordVerifications(work: () => Promise<unknown>): Promise<VerifyArgs[]> {
  const calls: VerifyArgs[] = [];
  const original = crypto.verify;
  (crypto as { verify: unknown }).verify = (...args: VerifyArgs) => {
    calls.push(args);
    return original(...args);
  };
  syncBuiltinESMExports();
  try {
    await work();
  } finally {
    (crypto as { verify: unknown }).verify = original;
    syncBuiltinESMExports();
  }
  return calls;
}

/** Times `n` calls of `f`: per-call CPU ms and per-call wall ms. */
async function timed(n: number, f: (i: number) => unknown): Promise<{ cpu: number; wall: number }> {
  const u = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  return { wall: (performance.now() - t) / n, cpu: cpuMsSince(u) / n };
}

export async function run(opts: BenchOptions = optionsFromArgv(process.argv)): Promise<void> {
  const require = createRequire(import.meta.url);
  const qvl = require('@phala/dcap-qvl') as DcapQvl;
  const coldOnly = process.argv.includes('--cold-only');
  const ROUNDS = coldOnly ? 60 : opts.quick ? 5 : 15;
  const N = opts.quick ? 10 : 20;
  for (const c of CASES) {
    const quote = new Uint8Array(readFileSync(join(VECTORS, c.quote)));
    const colText = readFileSync(join(VECTORS, c.collateral), 'utf8');
    const fresh = () => JSON.parse(colText) as QuoteCollateralV3Json;
    const dcapCollateral = collateralFromJson(colText);
    const qvlStatus = qvl.verify(quote, fresh(), c.at).status;
    const ours = await verifyQuote(quote, fresh(), { at: c.at });
    if (ours.tcbStatus !== qvlStatus) throw new Error(`status differs: ratls ${ours.tcbStatus}, dcap-qvl ${qvlStatus}`);

    const floorCalls = await recordVerifications(() => verifyQuote(quote, fresh(), { at: c.at }));
    if (floorCalls.length !== 9) throw new Error(`expected 9 ECDSA verifications, saw ${floorCalls.length}`);
    const floor = () => {
      const verify = crypto.verify as (...a: VerifyArgs) => boolean;
      for (const a of floorCalls) if (!verify(...a)) throw new Error('floor replay failed');
    };

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

    // Warm up the JIT on every path before timing anything.
    for (let i = 0; i < 200; i++) {
      floor();
      await verifyQuote(quote, fresh(), { at: c.at });
      await verifier.verify(variants[vi++ % VARIANTS] as Uint8Array, { at: c.at });
      if (i % 5 === 0) qvl.verify(quote, fresh(), c.at);
    }
    const rounds = new Rounds<'floor' | 'cold' | 'warm' | 'peer' | 'floorW' | 'coldW' | 'warmW' | 'peerW'>();
    const record = (k: 'floor' | 'cold' | 'warm' | 'peer', r: { cpu: number; wall: number }) => {
      rounds.add(k, r.cpu);
      rounds.add(`${k}W`, r.wall);
    };
    for (let r = 0; r < ROUNDS; r++) {
      // Fresh collateral objects, made outside the timed loop: no identity-keyed cache can hit.
      const cols = Array.from({ length: N }, fresh);
      if (coldOnly) {
        record('cold', await timed(N, (i) => verifyQuote(quote, cols[i] as QuoteCollateralV3Json, { at: c.at })));
        continue;
      }
      const peerCols = Array.from({ length: N }, fresh);
      record('floor', await timed(N, floor));
      record('cold', await timed(N, (i) => verifyQuote(quote, cols[i] as QuoteCollateralV3Json, { at: c.at })));
      record('peer', await timed(N, (i) => qvl.verify(quote, peerCols[i] as QuoteCollateralV3Json, c.at)));
      record('warm', await timed(N * 5, () => verifier.verify(variants[vi++ % VARIANTS] as Uint8Array, { at: c.at })));
    }
    const m = (k: Parameters<typeof rounds.median>[0]) => fmtMs(rounds.median(k));
    if (coldOnly) {
      console.log(`dcap ${c.tee} cold only (${ROUNDS} rounds x ${N} calls): ${m('cold')} CPU ms per call`);
      continue;
    }
    const st = verifier.stats();
    if (st.collateralVerifications !== 1 || st.resultHits !== 0) {
      throw new Error(`warm path did not behave as intended: ${JSON.stringify(st)}`);
    }
    console.log(
      `dcap ${c.tee} (${ROUNDS} rounds x ${N} calls, CPU ms per call, median [range of rounds]): ` +
        `floor ${m('floor')}, cold ${m('cold')} ${rounds.spread('cold', 3)}, warm ${m('warm')}, @phala/dcap-qvl ${m('peer')}`,
    );
    console.log(`  verifyQuote ${c.tee} cold / ECDSA floor: ${fmtRatio(rounds.ratio('cold', 'floor'))} (goal <= 1.5x)`);
    console.log(`  verifyQuote ${c.tee} cold vs @phala/dcap-qvl: ${fmtRatio(rounds.ratio('peer', 'cold'), 1)} faster`);
    console.log(
      `  createQuoteVerifier ${c.tee} warm vs @phala/dcap-qvl: ${fmtRatio(rounds.ratio('peer', 'warm'), 1)} faster (goal >= 50x)`,
    );
    console.log(
      `  wall ms per call: floor ${m('floorW')}, cold ${m('coldW')}, warm ${m('warmW')}, @phala/dcap-qvl ${m('peerW')}; cold/floor ${fmtRatio(rounds.ratio('coldW', 'floorW'))}`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await run();
