/**
 * CI slice of the parser fuzzing (`npm run fuzz` is the long run): every parser, on arbitrary,
 * structure-aware and mutated real input, returns or throws a typed RatlsError, each input fast.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { fuzzTable, runTarget } from './lib/fuzz-run.js';
import { fuzzTargets, loadSeeds } from './lib/fuzz-targets.js';

const RUNS_PER_ARB = 150;
/** Known defect (reported): its YAML alias errors escape untyped; see known-defects.test.ts. */
const TODO = 'parseGatewayConfig';
// Generous for a shared 2-core CI machine; the long run reports the real maximum.
const SLOW_MS = 2000;

function fuzz(names: (n: string) => boolean): void {
  const seeds = loadSeeds();
  const rows = fuzzTargets(seeds)
    .filter((t) => names(t.name))
    .map((t) => runTarget(t, RUNS_PER_ARB, 42, SLOW_MS));
  const table = fuzzTable(rows);
  for (const r of rows) {
    assert.equal(r.failures, 0, `${r.target}:\n${r.examples.join('\n')}\n${table}`);
    assert.ok(r.inputs >= RUNS_PER_ARB);
  }
}

test('parsers fail closed on fuzzed input', { skip: SKIP_NO_VECTORS, timeout: 180_000 }, () => {
  fuzz((n) => n !== TODO);
});

test('gateway config parser fails closed on fuzzed input', {
  skip: SKIP_NO_VECTORS,
  timeout: 180_000,
}, () => {
  fuzz((n) => n === TODO);
});

test('seeds are meaningful: real inputs parse before they are mutated', { skip: SKIP_NO_VECTORS }, () => {
  const seeds = loadSeeds();
  const targets = new Map(fuzzTargets(seeds).map((t) => [t.name, t]));
  const ok = (name: string, inputs: unknown[]) => {
    for (const x of inputs) targets.get(name)?.run(x);
  };
  ok('parseQuote', seeds.quotes);
  ok('parseRatlsCertificate', seeds.certs);
  ok('decodeDiceTaggedEvidence', seeds.diceValues);
  ok('decodeDiceClaims', seeds.claims);
  ok('parseNitroDocument', seeds.nitro);
  ok('parseSnpReport', seeds.snpReports);
  ok('collateralFromJson', seeds.collaterals);
  ok(
    'extractSignedJson',
    seeds.pcsBodies.filter((_, i) => i % 2 === 0),
  );
  ok('parsePolicy', seeds.policies);
  ok('parseGatewayConfig', seeds.gatewayConfigs);
});
