/**
 * Issue 16: reload validates and swaps each part on its own. A certificate rotation lands even
 * when a policy edit in the same reload is refused, a broken certificate does not block a policy
 * edit, and each part is reported (result, audit, log).
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real TLS clients.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  GOOD,
  IMPOSTOR,
  opensslCert,
  scenarioPolicy,
  servedSubject,
  webScenario,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: reload applies each part on its own', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let dir: string;
  let gw: Gateway;
  let backend: EchoBackend;
  const events: AuditEvent[] = [];
  let good: { cert: string; key: string };

  before(async () => {
    ({ dir, gw, backend, good } = await webScenario(startGateway, { events }));
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  const serverCn = () => servedSubject(gw.addresses().web?.port as number, good);
  const hash = async () =>
    /ratls_policy_info\{hash="([0-9a-f]{64})"\} 1/.exec(await gw.metrics.registry.metrics())?.[1];

  it('rotates the certificate although the policy edit in the same reload is refused', async () => {
    const h0 = await hash();
    opensslCert(dir, 'server', 'second');
    writeFileSync(
      join(dir, 'policy.yaml'),
      'version: 1\nidentities:\n  - name: broken\n    sgx: { mrEnclave: "zz" }\n',
    );
    const n = events.length;
    const r = await gw.reload();
    assert.equal(r.ok, false, 'a refused part makes the reload not ok');
    assert.ok(!r.ok && r.parts, 'partial: the parts are reported');
    const parts = r.ok ? [] : (r.parts ?? []);
    assert.deepEqual(
      parts.map((p) => [p.part, p.ok]),
      [
        ['policy', false],
        ['certificate', true],
      ],
    );
    assert.equal(parts[0]?.code, r.ok ? undefined : r.error.code);
    assert.match((await serverCn()) ?? '', /CN=second/, 'the new certificate is served');
    assert.equal(await hash(), h0, 'the previous policy stays in force');
    const reloads = events.slice(n).filter((e) => e.event.action === 'policy-reload');
    assert.deepEqual(
      reloads.map((e) => e.event.reason),
      ['reload_failed'],
    );
  });

  it('applies a policy edit although the certificate in the same reload is broken', async () => {
    const h0 = await hash();
    writeFileSync(join(dir, 'policy.yaml'), scenarioPolicy([GOOD, IMPOSTOR]));
    writeFileSync(join(dir, 'server.crt'), '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    const r = await gw.reload();
    assert.equal(r.ok, false);
    const parts = r.ok ? [] : (r.parts ?? []);
    assert.deepEqual(
      parts.map((p) => [p.part, p.ok, p.code]),
      [
        ['policy', true, undefined],
        ['certificate', false, 'ERR_GATEWAY_TLS'],
      ],
    );
    assert.notEqual(await hash(), h0, 'the new policy is in force');
    assert.match((await serverCn()) ?? '', /CN=second/, 'the last good certificate is still served');
  });

  it('a config that does not parse changes nothing and reports no parts', async () => {
    writeFileSync(join(dir, 'gateway.yaml'), 'version: 1\nnot: [valid\n');
    const r = await gw.reload();
    assert.equal(r.ok, false);
    assert.equal(r.ok ? undefined : r.error.code, 'ERR_GATEWAY_CONFIG');
    assert.equal(r.ok ? 'x' : r.parts, undefined);
  });
});
