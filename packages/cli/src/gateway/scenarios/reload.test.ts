/**
 * Reload: a policy admitting the impostor applies to the next handshake; a broken policy is
 * refused, the previous one stays in force, and both attempts are audited and counted.
 * In-process gateway over the shared HTTP scenario (@ratls/test-support/gateway-helpers): stand-in
 * certificate verifier, real policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import {
  GOOD,
  type HttpScenario,
  haveBinary,
  httpScenario,
  IMPOSTOR,
  scenarioPolicy,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: policy reload', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let s: HttpScenario<Gateway>;
  before(async () => {
    s = await httpScenario(startGateway);
  });
  after(async () => {
    await s?.close();
  });

  it('reload: a policy admitting the impostor applies; a broken policy is refused and the old one stays', {
    skip: !haveBinary('curl'),
  }, async () => {
    const hashOf = async () =>
      /ratls_policy_info\{hash="([0-9a-f]{64})"\} 1/.exec(await s.gw.metrics.registry.metrics())?.[1];
    const h0 = await hashOf();
    assert.notEqual((await s.curl('impostor', '/')).code, 0);
    writeFileSync(s.policyPath, scenarioPolicy([GOOD, IMPOSTOR]));
    const ok = await s.gw.reload();
    assert.equal(ok.ok, true);
    const h1 = await hashOf();
    assert.notEqual(h1, h0);
    const r = await s.curl('impostor', '/');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers['x-ratls-measurement'],
      IMPOSTOR,
    );
    writeFileSync(s.policyPath, 'version: 1\nidentities:\n  - name: broken\n    sgx: { mrEnclave: "zz" }\n');
    const bad = await s.gw.reload();
    assert.equal(bad.ok, false);
    assert.equal(await hashOf(), h1);
    assert.equal((await s.curl('impostor', '/')).code, 0, 'old policy still in force');
    const reloads = s.events.filter((e) => e.event.action === 'policy-reload');
    assert.deepEqual(
      reloads.map((e) => e.event.reason),
      ['reloaded', 'reload_failed'],
    );
    assert.match(await s.gw.metrics.registry.metrics(), /ratls_reloads_total\{result="failed"\} 1/);
  });
});
