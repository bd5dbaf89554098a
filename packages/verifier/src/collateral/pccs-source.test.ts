import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { fixtureFromCase, type PcsFixture, type PcsServer, startPcsServer } from '@ratls/test-support/pcs-server';
import { readVectorJson, SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';
import { collateralFromJson } from './json.js';
import { PccsCollateralSource } from './pccs-source.js';
import type { CollateralRequest, QuoteCollateralV3Json } from './types.js';

const code = (c: string) => (e: unknown) => e instanceof RatlsError && e.code === c;
const caseJson = (name: string) => readVectorJson<QuoteCollateralV3Json>(`dcap-cases/${name}.collateral.json`);
const fixture = (name: string): PcsFixture => fixtureFromCase(caseJson(name));
const GOTDX: CollateralRequest = { tee: 'tdx', fmspc: '50806f000000', pckCa: 'platform' };
/** Inside the gotdx_2023-06 window; its effective nextUpdate is 2023-07-08T07:24:59Z. */
const T0 = Date.parse('2023-07-01T01:00:00Z');
const NEXT = Date.parse('2023-07-08T07:24:59Z');
const HOUR = 3_600_000;

async function withServer<T>(fx: PcsFixture[], fn: (s: PcsServer) => Promise<T>, prefix = ''): Promise<T> {
  const s = await startPcsServer(fx, prefix);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

describe('PccsCollateralSource', { skip: SKIP_NO_VECTORS }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ratls-pccs-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('serves every vector case as PCS would, byte-exact', async () => {
    const names = readdirSync(vectorPath('dcap-cases'))
      .filter((f) => f.endsWith('.collateral.json'))
      .map((f) => f.replace('.collateral.json', ''));
    assert.ok(names.length >= 10);
    for (const name of names) {
      const fx = fixture(name);
      await withServer([fx], async (s) => {
        const src = new PccsCollateralSource(s.url);
        const req: CollateralRequest = { tee: fx.tee, fmspc: fx.fmspc, pckCa: 'platform' };
        assert.deepEqual(await src.getCollateral(req), collateralFromJson(caseJson(name)), name);
        assert.ok(s.hits.includes(`/${fx.tee}/certification/v4/tcb?fmspc=${fx.fmspc}`), name);
        assert.ok(s.hits.includes(`/${fx.tee}/certification/v4/qe/identity`), name);
        assert.ok(s.hits.includes('/sgx/certification/v4/pckcrl?ca=platform&encoding=der'), name);
        assert.ok(s.hits.includes('/sgx/certification/v4/rootcacrl'), name);
      });
    }
  });

  test('base URL with a path prefix, or ending in /sgx/certification/v4; DER root CRL; v3 header name', async () => {
    const fx = fixture('gotdx_2023-06');
    await withServer(
      [fx],
      async (s) => {
        s.override = (_req, res, path) => {
          if (path.endsWith('/rootcacrl')) {
            res.writeHead(200).end(Buffer.from(fx.rootCaCrl as string, 'hex'));
            return true;
          }
          if (path.endsWith('/tcb')) {
            res
              .writeHead(200, { 'SGX-TCB-Info-Issuer-Chain': encodeURIComponent(fx.tcbInfoChain) })
              .end(fx.tcbInfoBody);
            return true;
          }
          return false;
        };
        const want = collateralFromJson(caseJson('gotdx_2023-06'));
        assert.deepEqual(await new PccsCollateralSource(`${s.url}/`, { clock: () => T0 }).getCollateral(GOTDX), want);
        const v4 = new PccsCollateralSource(`${s.url}/sgx/certification/v4`, { clock: () => T0 });
        assert.deepEqual(await v4.getCollateral(GOTDX), want);
        assert.ok(s.hits.every((h) => h.startsWith('/pccs/')));
      },
      '/pccs',
    );
  });

  describe('failures, nothing cached', () => {
    const expectFail = async (c: string, setup: (s: PcsServer) => void, opts = {}) =>
      withServer([fixture('gotdx_2023-06')], async (s) => {
        setup(s);
        const src = new PccsCollateralSource(s.url, { clock: () => T0, timeoutMs: 300, ...opts });
        await assert.rejects(src.getCollateral(GOTDX), code(c));
        const st = src.status();
        assert.equal(st.healthy, false);
        assert.equal(st.lastError?.code, c);
        assert.equal(st.entries.length, 0);
      });

    test('unreachable port', async () => {
      const s = await startPcsServer([]);
      await s.close();
      const src = new PccsCollateralSource(s.url, { timeoutMs: 2000 });
      await assert.rejects(src.getCollateral(GOTDX), code('ERR_COLLATERAL_UNREACHABLE'));
    });
    test('no answer within the timeout', () =>
      expectFail('ERR_COLLATERAL_TIMEOUT', (s) => {
        s.override = (_q, _r, path) => path.endsWith('/qe/identity'); // hold the request open
      }));
    test('body stalls after the headers', () =>
      expectFail('ERR_COLLATERAL_TIMEOUT', (s) => {
        s.override = (_q, res, path) => {
          if (!path.endsWith('/tcb')) return false;
          res.writeHead(200, { 'TCB-Info-Issuer-Chain': 'x' });
          res.write('{"tcbInfo":');
          return true;
        };
      }));
    test('HTTP 500', () =>
      expectFail('ERR_COLLATERAL_HTTP', (s) => {
        s.override = (_q, res, path) => path.endsWith('/pckcrl') && Boolean(res.writeHead(500).end('oops'));
      }));
    test('HTTP 404 (unknown FMSPC)', () =>
      withServer([fixture('gotdx_2023-06')], async (s) => {
        const src = new PccsCollateralSource(s.url);
        await assert.rejects(src.getCollateral({ ...GOTDX, fmspc: '112233445566' }), code('ERR_COLLATERAL_NOT_FOUND'));
      }));
    test('truncated body', () =>
      expectFail('ERR_COLLATERAL_MALFORMED', (s) => {
        const fx = fixture('gotdx_2023-06');
        s.override = (_q, res, path) =>
          path.endsWith('/tcb') &&
          Boolean(
            res
              .writeHead(200, { 'TCB-Info-Issuer-Chain': encodeURIComponent(fx.tcbInfoChain) })
              .end(fx.tcbInfoBody.slice(0, 700)),
          );
      }));
    test('invalid body (HTML error page with 200)', () =>
      expectFail('ERR_COLLATERAL_MALFORMED', (s) => {
        s.override = (_q, res, path) =>
          path.endsWith('/qe/identity') &&
          Boolean(res.writeHead(200, { 'SGX-Enclave-Identity-Issuer-Chain': 'x' }).end('<html>maintenance</html>'));
      }));
    test('invalid CRL body', () =>
      expectFail('ERR_COLLATERAL_MALFORMED', (s) => {
        s.override = (_q, res, path) => path.endsWith('/rootcacrl') && Boolean(res.writeHead(200).end('not a crl'));
      }));
    test('missing issuer-chain header', () =>
      expectFail('ERR_COLLATERAL_MISSING', (s) => {
        const fx = fixture('gotdx_2023-06');
        s.override = (_q, res, path) => path.endsWith('/pckcrl') && Boolean(res.writeHead(200).end(fx.pckCrl));
      }));
    test('oversized body (Content-Length)', () =>
      expectFail('ERR_COLLATERAL_TOO_LARGE', () => {}, { maxBodyBytes: 1000 }));
    test('oversized body (chunked, no Content-Length)', () =>
      expectFail(
        'ERR_COLLATERAL_TOO_LARGE',
        (s) => {
          s.override = (_q, res, path) => {
            if (!path.endsWith('/tcb')) return false;
            res.writeHead(200, { 'TCB-Info-Issuer-Chain': 'x' });
            for (let i = 0; i < 64; i++) res.write(' '.repeat(1024));
            res.end();
            return true;
          };
        },
        { maxBodyBytes: 16 * 1024 },
      ));
    test('collateral for another TEE than asked', () =>
      expectFail('ERR_COLLATERAL_MISMATCH', (s) => {
        const sgx = fixture('dcapqvl_sgx_2025-06');
        s.override = (_q, res, path) =>
          path.endsWith('/tcb') &&
          Boolean(
            res.writeHead(200, { 'TCB-Info-Issuer-Chain': encodeURIComponent(sgx.tcbInfoChain) }).end(sgx.tcbInfoBody),
          );
      }));
  });

  test('bad requests, bad URLs and caller aborts', async () => {
    assert.throws(() => new PccsCollateralSource('ftp://x'), code('ERR_CONFIG_PCCS_URL'));
    assert.throws(() => new PccsCollateralSource('nope'), code('ERR_CONFIG_PCCS_URL'));
    assert.throws(
      () => new PccsCollateralSource('http://127.0.0.1:1', { timeoutMs: 0 }),
      code('ERR_CONFIG_PCCS_OPTION'),
    );
    const src = new PccsCollateralSource('http://127.0.0.1:1');
    await assert.rejects(src.getCollateral({ ...GOTDX, fmspc: '50806f' }), code('ERR_COLLATERAL_REQUEST'));
    await assert.rejects(src.getCollateral({ ...GOTDX, fmspc: '50806f00000g' }), code('ERR_COLLATERAL_REQUEST'));
    await withServer([fixture('gotdx_2023-06')], async (s) => {
      s.override = (_q, _r, path) => path.endsWith('/tcb');
      const slow = new PccsCollateralSource(s.url, { timeoutMs: 500 });
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await assert.rejects(slow.getCollateral(GOTDX, { signal: ac.signal }), code('ERR_COLLATERAL_ABORTED'));
      await slow.whenIdle();
    });
  });

  describe('cache', () => {
    test('memory hit, concurrent callers share one fetch, refresh after refreshAfterMs', async () => {
      await withServer([fixture('gotdx_2023-06')], async (s) => {
        let now = T0;
        const src = new PccsCollateralSource(s.url, { clock: () => now });
        const all = await Promise.all(Array.from({ length: 5 }, () => src.getCollateral(GOTDX)));
        // One set: PCK CRL, TCB info, QE identity, Root CA CRL and the TCB evaluation data numbers.
        assert.equal(s.hits.length, 5);
        assert.ok(all.every((c) => c === all[0]));
        now += HOUR - 1;
        await src.getCollateral(GOTDX);
        assert.equal(s.hits.length, 5);
        const st = src.status();
        assert.deepEqual(st.entries, [
          { tee: 'tdx', fmspc: '50806f000000', pckCa: 'platform', nextUpdate: NEXT, fetchedAt: T0 },
        ]);
        assert.equal(st.healthy, true);
        now += 1;
        await src.getCollateral(GOTDX); // served cached, refreshed in the background
        await src.whenIdle();
        assert.equal(s.hits.length, 10); // a second whole set
        assert.equal(src.status().entries[0]?.fetchedAt, now);
      });
    });

    test('outage: cached served before nextUpdate, refused after it', async () => {
      await withServer([fixture('gotdx_2023-06')], async (s) => {
        let now = T0;
        const src = new PccsCollateralSource(s.url, { clock: () => now });
        const first = await src.getCollateral(GOTDX);
        s.override = (_q, res) => Boolean(res.writeHead(503).end());
        now = T0 + 2 * HOUR; // due for refresh; the refresh fails
        assert.equal(await src.getCollateral(GOTDX), first);
        await src.whenIdle();
        let st = src.status();
        assert.equal(st.healthy, false);
        assert.equal(st.lastError?.code, 'ERR_COLLATERAL_HTTP');
        assert.equal(st.lastError?.at, now);
        const hits = s.hits.length;
        assert.equal(await src.getCollateral(GOTDX), first); // backing off: no new requests
        await src.whenIdle();
        assert.equal(s.hits.length, hits);
        now = NEXT - 1;
        assert.equal(await src.getCollateral(GOTDX), first);
        await src.whenIdle();
        now = NEXT;
        await assert.rejects(src.getCollateral(GOTDX), code('ERR_COLLATERAL_HTTP'));
        s.override = undefined;
        now = NEXT + 1; // PCCS back (it still serves the old set, which the appraiser will refuse as expired)
        await src.getCollateral(GOTDX);
        st = src.status();
        assert.equal(st.healthy, true);
        assert.equal(st.entries[0]?.fetchedAt, NEXT + 1);
      });
    });

    test('disk cache survives a new instance; files are 0600; writes are atomic', async () => {
      const dir = join(tmp, 'survive');
      const want = collateralFromJson(caseJson('gotdx_2023-06'));
      let url = '';
      await withServer([fixture('gotdx_2023-06')], async (s) => {
        url = s.url;
        await new PccsCollateralSource(s.url, { clock: () => T0, cacheDir: dir }).getCollateral(GOTDX);
      });
      // The cache entry and the anti-rollback state beside it; no temp file left behind.
      const files = readdirSync(dir).sort();
      assert.deepEqual(files, ['tcb-evaluation-numbers.json', 'tdx-50806f000000-platform.json']);
      for (const f of files) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
      // PCCS is gone now (server closed): the new instance serves from disk.
      const b = new PccsCollateralSource(url, { clock: () => T0 + 5 * HOUR, cacheDir: dir, timeoutMs: 500 });
      assert.deepEqual(await b.getCollateral(GOTDX), want);
      await b.whenIdle();
      assert.equal(b.status().entries[0]?.fetchedAt, T0);
      assert.equal(b.status().healthy, false); // the background refresh failed
      const c = new PccsCollateralSource(url, { clock: () => NEXT, cacheDir: dir, timeoutMs: 500 });
      await assert.rejects(c.getCollateral(GOTDX), code('ERR_COLLATERAL_UNREACHABLE'));
    });

    test('corrupt or tampered disk files are ignored and refetched', async () => {
      const dir = join(tmp, 'corrupt');
      const file = join(dir, 'tdx-50806f000000-platform.json');
      await withServer([fixture('gotdx_2023-06')], async (s) => {
        await new PccsCollateralSource(s.url, { clock: () => T0, cacheDir: dir }).getCollateral(GOTDX);
        const good = readFileSync(file, 'utf8');
        // A stored nextUpdate far in the future is not believed: it is recomputed from the collateral.
        const o = JSON.parse(good) as Record<string, unknown>;
        writeFileSync(file, JSON.stringify({ ...o, nextUpdate: 4e12 }));
        s.override = (_q, res) => Boolean(res.writeHead(500).end());
        const late = new PccsCollateralSource(s.url, { clock: () => NEXT + 1, cacheDir: dir });
        await assert.rejects(late.getCollateral(GOTDX), code('ERR_COLLATERAL_HTTP'));
        // Garbage is ignored: with PCCS down that is a failure, not a crash or a trusted file.
        writeFileSync(file, '{"format":"ratls-collateral-cache/1", garbage');
        const down = new PccsCollateralSource(s.url, { clock: () => T0, cacheDir: dir });
        await assert.rejects(down.getCollateral(GOTDX), code('ERR_COLLATERAL_HTTP'));
        // Collateral for another FMSPC under this key is ignored too.
        writeFileSync(file, JSON.stringify({ ...o, collateral: caseJson('gotdx_2023-06'), fmspc: '90c06f000000' }));
        const down2 = new PccsCollateralSource(s.url, { clock: () => T0, cacheDir: dir });
        await assert.rejects(down2.getCollateral(GOTDX), code('ERR_COLLATERAL_HTTP'));
        assert.equal(down2.status().entries.length, 0);
        s.override = undefined;
        const hits = s.hits.length;
        const up = new PccsCollateralSource(s.url, { clock: () => T0, cacheDir: dir });
        assert.deepEqual(await up.getCollateral(GOTDX), collateralFromJson(caseJson('gotdx_2023-06')));
        assert.equal(s.hits.length, hits + 5);
        assert.equal(readFileSync(file, 'utf8').includes('"fmspc":"50806f000000"'), true);
      });
    });
  });
});
