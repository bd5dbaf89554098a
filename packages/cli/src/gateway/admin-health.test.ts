/** Issue 16: readiness per listener and the warnings behind /healthz's `degraded`, at fixed times. */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { STATE_API_LISTENER, scenarioCollateral, tempDir, writeStateConfig } from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { COLLATERAL_WARN_MS, gatewayHealth, gatewayReadiness, gatewayWarnings } from './admin.js';
import { loadGatewayConfig } from './config/config.js';
import { buildState, type GatewayState } from './state.js';

describe('gateway health: readiness and warnings', { skip: HAVE_VECTORS ? false : 'needs a collateral vector' }, () => {
  let state: GatewayState;
  const { nextUpdateMs } = HAVE_VECTORS ? scenarioCollateral() : { nextUpdateMs: 0 };
  const inputs = (now: number, listening = [true, true]) => ({
    state,
    listeners: [
      { name: 'api', listening: listening[0] as boolean },
      { name: 'other', listening: listening[1] as boolean },
    ],
    now,
    version: '1.2.3',
  });

  before(async () => {
    const dir = tempDir();
    const path = writeStateConfig(
      dir,
      `${STATE_API_LISTENER}  - { name: other, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { tcp: "127.0.0.1:1" } }\n`,
    );
    state = await buildState(loadGatewayConfig(path), undefined, {});
  });

  it('is ready per listener; a listener down is not ready, the other still is', async () => {
    const now = nextUpdateMs - COLLATERAL_WARN_MS - 1000;
    assert.equal((await gatewayReadiness(inputs(now))).ok, true);
    const one = await gatewayReadiness(inputs(now, [false, true]));
    assert.equal(one.ok, false);
    assert.deepEqual(one.body.listeners.api, { ready: false, reasons: ['not listening'] });
    assert.deepEqual(one.body.listeners.other, { ready: true });
    assert.equal((await gatewayReadiness(inputs(now, [false, true]), { listener: 'other' })).ok, true);
    assert.equal((await gatewayReadiness(inputs(now), { listener: 'nope' })).ok, false);
  });

  it('is not ready once every collateral file is past its nextUpdate (every handshake would be refused)', async () => {
    const r = await gatewayReadiness(inputs(nextUpdateMs + 1));
    assert.equal(r.ok, false);
    assert.match(r.body.listeners.api?.reasons?.join(' ') ?? '', /past its nextUpdate/);
  });

  it('backend=1 probes the backend: a closed port is not ready', async () => {
    const r = await gatewayReadiness(inputs(nextUpdateMs - COLLATERAL_WARN_MS - 1000), { backend: true });
    assert.equal(r.ok, false);
    assert.match(r.body.listeners.other?.reasons?.join(' ') ?? '', /backend/);
  });

  it('warns near nextUpdate (healthz stays ok, degraded) and reports expiry past it', () => {
    assert.deepEqual(gatewayWarnings(state, nextUpdateMs - COLLATERAL_WARN_MS - 1000), []);
    const near = gatewayWarnings(state, nextUpdateMs - 1000);
    assert.deepEqual(
      near.map((w) => w.kind),
      ['collateral_near_expiry'],
    );
    const h = gatewayHealth(inputs(nextUpdateMs - 1000));
    assert.equal(h.ok, true);
    assert.equal(h.body.status, 'ok');
    assert.equal(h.body.degraded, true);
    assert.deepEqual(
      gatewayWarnings(state, nextUpdateMs).map((w) => w.kind),
      ['collateral_expired'],
    );
    assert.equal(gatewayHealth(inputs(nextUpdateMs)).ok, false);
  });
});
