/**
 * The admin server: /metrics with bounded labels (no measurement, no address), /healthz 200 while
 * the collateral is current and 503 with a reason once the clock passes its nextUpdate.
 * In-process gateway over the shared HTTP scenario (@ratls/test-support/gateway-helpers): stand-in
 * certificate verifier, real policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GOOD, type HttpScenario, haveBinary, httpScenario } from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: admin /metrics and /healthz', {
  skip: !HAVE_VECTORS ? 'needs a collateral vector' : haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let s: HttpScenario<Gateway>;
  before(async () => {
    s = await httpScenario(startGateway, { admin: true });
  });
  after(async () => {
    await s?.close();
  });
  /** The traffic the counters below describe: one accepted and one refused attempt. */
  before(async () => {
    assert.equal((await s.curl('good', '/hello')).code, 0);
    assert.notEqual((await s.curl('impostor', '/secret')).code, 0);
  });

  it('serves /metrics with bounded labels and /healthz that turns 503 past nextUpdate', async () => {
    const admin = `http://127.0.0.1:${s.gw.addresses().admin?.port}`;
    const m = await (await fetch(`${admin}/metrics`)).text();
    assert.match(m, /ratls_handshakes_total\{listener="api",result="accept"\} 1/);
    assert.match(m, /ratls_attestation_rejections_total\{listener="api",tee="sgx",reason="measurement_mismatch"\} 1/);
    assert.match(m, /ratls_verification_duration_seconds_count\{listener="api"\} \d+/);
    assert.match(m, /ratls_collateral_next_update_timestamp_seconds\{fmspc="[0-9a-f]{12}"\} \d+/);
    assert.match(m, /ratls_build_info\{version="0\.1\.0"\} 1/);
    assert.match(m, /ratls_policy_info\{hash="[0-9a-f]{64}"\} 1/);
    assert.match(m, /ratls_active_connections/);
    assert.doesNotMatch(m, new RegExp(GOOD), 'no measurement in labels');
    assert.doesNotMatch(m, /127\.0\.0\.1/, 'no address in labels');
    const ok = await fetch(`${admin}/healthz`, { headers: s.adminHeaders });
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { status: string }).status, 'ok');
    s.clock.now = s.nextUpdateMs + 1000;
    try {
      const bad = await fetch(`${admin}/healthz`, { headers: s.adminHeaders });
      assert.equal(bad.status, 503);
      const body = (await bad.json()) as { status: string; reasons: string[] };
      assert.equal(body.status, 'unhealthy');
      assert.match(body.reasons.join(' '), /past its nextUpdate/);
    } finally {
      s.clock.now = s.nextUpdateMs - 86_400_000;
    }
  });
});
