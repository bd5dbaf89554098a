import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  adminToken,
  STATE_API_LISTENER,
  scenarioCollateral,
  tempDir,
  writeStateConfig,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { collateralNextUpdates, gatewayHealth, startAdmin } from './admin.js';
import { loadGatewayConfig } from './config/config.js';
import { createGatewayMetrics } from './metrics.js';
import { buildState, type GatewayState } from './state.js';

describe('gateway admin', { skip: HAVE_VECTORS ? false : 'needs a collateral vector' }, () => {
  let state: GatewayState;
  const { now, nextUpdateMs } = HAVE_VECTORS ? scenarioCollateral() : { now: 0, nextUpdateMs: 0 };

  before(async () => {
    const dir = tempDir();
    const path = writeStateConfig(dir, STATE_API_LISTENER);
    state = await buildState(loadGatewayConfig(path), undefined, {});
  });

  it('is healthy with every listener bound and the collateral current', () => {
    const h = gatewayHealth({ state, listeners: [{ name: 'api', listening: true }], now, version: '1.2.3' });
    assert.equal(h.ok, true);
    assert.equal(h.body.status, 'ok');
    assert.equal(h.body.version, '1.2.3');
    assert.deepEqual(h.body.listeners, { api: 'listening' });
    assert.deepEqual(
      collateralNextUpdates(state).map((c) => c.nextUpdateMs),
      [nextUpdateMs],
    );
  });

  it('is unhealthy, with each reason, for a listener down or collateral past its nextUpdate', () => {
    const down = gatewayHealth({ state, listeners: [{ name: 'api', listening: false }], now, version: '1.2.3' });
    assert.equal(down.ok, false);
    assert.deepEqual(down.body.reasons, ['listener api is not listening']);
    const stale = gatewayHealth({ state, listeners: [], now: nextUpdateMs, version: '1.2.3' });
    assert.equal(stale.ok, false);
    assert.match((stale.body.reasons as string[]).join(' '), /past its nextUpdate/);
  });

  it('serves /healthz and /metrics, 404 elsewhere and 405 for other methods', async () => {
    let ok = true;
    const metrics = createGatewayMetrics('1.2.3');
    const dir = tempDir();
    const t = adminToken(dir);
    const admin = await startAdmin(
      { host: '127.0.0.1', port: 0 },
      {
        health: () => ({ ok, body: { status: ok ? 'ok' : 'unhealthy' } }),
        metrics,
        auth: { tokenFile: t.tokenFile, allowedHosts: [] },
      },
    );
    try {
      const base = `http://127.0.0.1:${admin.address()?.port}`;
      const headers = t.headers;
      assert.equal((await fetch(`${base}/healthz`, { headers })).status, 200);
      ok = false;
      assert.equal((await fetch(`${base}/healthz?x=1`, { headers })).status, 503);
      assert.match(await (await fetch(`${base}/metrics`)).text(), /ratls_build_info\{version="1\.2\.3"\} 1/);
      assert.equal((await fetch(`${base}/other`, { headers })).status, 404);
      assert.equal((await fetch(`${base}/healthz`, { method: 'POST', headers })).status, 405);
    } finally {
      await admin.close();
    }
  });

  it('fails closed without adminAuth: /healthz and /console are 401 naming the key; /livez, /readyz, /metrics answer', async () => {
    const admin = await startAdmin(
      { host: '127.0.0.1', port: 0 },
      {
        health: () => ({ ok: true, body: { status: 'ok', policies: ['secret'] } }),
        metrics: createGatewayMetrics('1.2.3'),
      },
    );
    try {
      const base = `http://127.0.0.1:${admin.address()?.port}`;
      for (const path of ['/healthz', '/console', '/console/state.json', '/console/events', '/other']) {
        const r = await fetch(`${base}${path}`, { headers: { authorization: 'Bearer anything' } });
        assert.equal(r.status, 401, path);
        const body = (await r.json()) as { error: string; message: string };
        assert.equal(body.error, 'ERR_ADMIN_UNAUTHORIZED');
        assert.match(body.message, /set adminAuth\.tokenFile/);
        assert.doesNotMatch(JSON.stringify(body), /secret/);
      }
      assert.equal((await fetch(`${base}/livez`)).status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
      assert.equal((await fetch(`${base}/metrics`)).status, 200);
    } finally {
      await admin.close();
    }
  });

  it('refuses an address already in use with ERR_GATEWAY_LISTEN', async () => {
    const deps = { health: () => ({ ok: true, body: {} }), metrics: createGatewayMetrics('1.2.3') };
    const first = await startAdmin({ host: '127.0.0.1', port: 0 }, deps);
    try {
      const port = first.address()?.port as number;
      await assert.rejects(startAdmin({ host: '127.0.0.1', port }, deps), { code: 'ERR_GATEWAY_LISTEN' });
    } finally {
      await first.close();
    }
  });
});
