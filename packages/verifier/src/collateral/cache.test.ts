import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { fixtureFromCase, type PcsServer, startPcsServer } from '@ratls/test-support/pcs-server';
import { readVectorJson, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { cacheKey, writeCacheFile } from './disk-cache.js';
import { collateralFacts } from './facts.js';
import { HostThrottle } from './host-throttle.js';
import { parseRetryAfter, RateLimitedError } from './http.js';
import { collateralFromJson } from './json.js';
import { PccsCollateralSource } from './pccs-source.js';
import { RollbackGuard } from './rollback-guard.js';
import type { CollateralRequest, QuoteCollateralV3Json } from './types.js';

const code = (c: string) => (e: unknown) => e instanceof RatlsError && e.code === c;
const caseJson = (name: string) => readVectorJson<QuoteCollateralV3Json>(`dcap-cases/${name}.collateral.json`);
/** Same FMSPC 00a067110000: tcbEvaluationDataNumber 16 (2023-11) and 17 (2025-06). */
const OLD = 'dcapqvl_sgx_2023-11';
const NEW = 'dcapqvl_sgx_2025-06';
const SGX: CollateralRequest = { tee: 'sgx', fmspc: '00a067110000', pckCa: 'platform' };
const T_NEW = Date.parse('2025-06-20T00:00:00Z');
const HOUR = 3_600_000;

async function withServer<T>(name: string, fn: (s: PcsServer) => Promise<T>): Promise<T> {
  const s = await startPcsServer([fixtureFromCase(caseJson(name))]);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe('collateral cache (issue 17)', { skip: SKIP_NO_VECTORS }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ratls-cache-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('100 concurrent cold requests make one upstream request per piece', () =>
    withServer(NEW, async (s) => {
      const src = new PccsCollateralSource(s.url, { clock: () => T_NEW });
      const all = await Promise.all(Array.from({ length: 100 }, () => src.getCollateral(SGX)));
      assert.ok(all.every((c) => c === all[0]));
      assert.equal(s.count('/tcb?fmspc='), 1);
      assert.equal(s.count('/qe/identity'), 1);
      assert.equal(s.count('/pckcrl'), 1);
      assert.equal(s.count('/rootcacrl'), 1);
      const st = src.status();
      assert.equal(st.counters.fetches, 1);
      assert.equal(st.counters.coalesced, 99);
      assert.equal(st.counters.misses, 100);
    }));

  test('refreshes early inside nextUpdate, serving the cached set meanwhile; waits after nextUpdate', () =>
    withServer(NEW, async (s) => {
      let now = T_NEW;
      const src = new PccsCollateralSource(s.url, {
        clock: () => now,
        refreshAfterMs: 1000 * HOUR,
        refreshBeforeNextUpdateMs: 2 * HOUR,
      });
      const first = await src.getCollateral(SGX);
      const next = collateralFacts(first).nextUpdate;
      now = next - 3 * HOUR; // young and far from nextUpdate: no traffic
      await src.getCollateral(SGX);
      assert.equal(s.count('/tcb?'), 1);
      now = next - HOUR; // within the early-refresh window: served at once, refetched behind
      assert.equal(await src.getCollateral(SGX), first);
      await src.whenIdle();
      assert.equal(s.count('/tcb?'), 2);
      assert.equal(src.status().counters.refreshes, 1);
      // Outage past nextUpdate: never served stale, the fetch error is the answer.
      s.override = (_q, res) => {
        res.writeHead(500).end();
        return true;
      };
      now = next + 1;
      await assert.rejects(src.getCollateral(SGX), code('ERR_COLLATERAL_HTTP'));
    }));

  test('429 with Retry-After backs the host off: no upstream request until it ends', () =>
    withServer(NEW, async (s) => {
      let now = T_NEW;
      s.override = (_q, res) => {
        res.writeHead(429, { 'retry-after': '120' }).end();
        return true;
      };
      const src = new PccsCollateralSource(s.url, { clock: () => now });
      await assert.rejects(src.getCollateral(SGX), code('ERR_COLLATERAL_RATE_LIMITED'));
      const sent = s.hits.length;
      now += 60_000;
      await assert.rejects(src.getCollateral(SGX), code('ERR_COLLATERAL_RATE_LIMITED'));
      assert.equal(s.hits.length, sent, 'backed off: nothing sent');
      assert.ok(src.status().throttle.refused >= 1);
      s.override = undefined;
      now += 61_000;
      await src.getCollateral(SGX);
      assert.equal(s.count('/tcb?'), 2);
    }));

  test('older collateral from PCCS is refused (ERR_COLLATERAL_ROLLBACK), the newer set keeps serving', async () => {
    const dir = join(tmp, 'rb1');
    let now = T_NEW;
    await withServer(NEW, async (s) => {
      const src = new PccsCollateralSource(s.url, { clock: () => now, cacheDir: dir });
      await src.getCollateral(SGX);
    });
    const state = JSON.parse(readFileSync(join(dir, 'tcb-evaluation-numbers.json'), 'utf8')) as {
      seen: Record<string, number>;
    };
    assert.equal(state.seen['tcb-sgx-00a067110000'], 17);
    // A fresh process, a PCCS (or a man in the middle) now answering with the 2023 set.
    rmSync(join(dir, `${cacheKey(SGX)}.json`));
    now = Date.parse('2023-12-01T00:00:00Z');
    await withServer(OLD, async (s) => {
      const src = new PccsCollateralSource(s.url, { clock: () => now, cacheDir: dir });
      await assert.rejects(src.getCollateral(SGX), code('ERR_COLLATERAL_ROLLBACK'));
      assert.equal(src.status().rollback.refused, 1);
    });
  });

  test('older collateral written into the cache directory is ignored and refetched', async () => {
    const dir = join(tmp, 'rb2');
    const now = Date.parse('2023-12-01T00:00:00Z');
    await withServer(NEW, async (s) => {
      await new PccsCollateralSource(s.url, { clock: () => T_NEW, cacheDir: dir }).getCollateral(SGX);
      // Whoever can write the shared cache restores the older, better-rated set.
      const err = await writeCacheFile(dir, {
        req: SGX,
        collateral: collateralFromJson(caseJson(OLD)),
        fetchedAt: now,
        nextUpdate: 0,
      });
      assert.equal(err, undefined);
      const src = new PccsCollateralSource(s.url, { clock: () => now, cacheDir: dir });
      const c = await src.getCollateral(SGX);
      assert.equal(JSON.parse(c.tcbInfoJson).tcbEvaluationDataNumber, 17, 'the old file was not served');
      assert.equal(s.count('/tcb?'), 2, 'refetched upstream');
      assert.equal(src.status().rollback.refused, 1);
      assert.equal(src.status().lastError?.code, 'ERR_COLLATERAL_ROLLBACK');
    });
  });

  test('rollback guard: state file only grows; a lowered file cannot lower what a process saw', async () => {
    const path = join(tmp, 'guard', 'state.json');
    const g = new RollbackGuard(path);
    await g.record(collateralFromJson(caseJson(NEW)));
    await assert.rejects(g.check(collateralFromJson(caseJson(OLD))), code('ERR_COLLATERAL_ROLLBACK'));
    writeFileSync(path, JSON.stringify({ format: 'ratls-tcb-evaluation-numbers/1', seen: {} }));
    await assert.rejects(g.check(collateralFromJson(caseJson(OLD))), code('ERR_COLLATERAL_ROLLBACK'));
    writeFileSync(path, '{broken');
    await assert.rejects(new RollbackGuard(path).check(collateralFromJson(caseJson(NEW))), code('ERR_COLLATERAL_FILE'));
  });

  test('host throttle spaces requests and honours Retry-After; parseRetryAfter bounds its input', async () => {
    let now = 1_000_000;
    const t = new HostThrottle({ minIntervalMs: 10_000, maxWaitMs: 0, clock: () => now });
    let calls = 0;
    const call = () => t.run('https://kds.example/vcek/x', async () => ++calls);
    assert.equal(await call(), 1);
    await assert.rejects(call(), code('ERR_COLLATERAL_RATE_LIMITED'));
    now += 10_000;
    assert.equal(await call(), 2);
    now += 10_000;
    await assert.rejects(
      t.run('https://kds.example/vcek/y', async () => {
        throw new RateLimitedError('429', 30_000);
      }),
      code('ERR_COLLATERAL_RATE_LIMITED'),
    );
    now += 20_000;
    await assert.rejects(call(), code('ERR_COLLATERAL_RATE_LIMITED'));
    assert.equal(calls, 2);
    now += 10_001;
    assert.equal(await call(), 3);
    assert.equal(parseRetryAfter('10', 0), 10_000);
    assert.equal(parseRetryAfter('999999999', 0), 86_400_000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter('Thu, 01 Jan 1970 00:01:00 GMT', 0), 60_000);
  });
});
