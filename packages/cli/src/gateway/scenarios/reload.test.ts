/**
 * Reload: a policy admitting the impostor applies to the next handshake; a broken policy is
 * refused, the previous one stays in force, and both attempts are audited and counted.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  echoBackend,
  GOOD,
  haveBinary,
  IMPOSTOR,
  opensslCert,
  run,
  scenarioCollateral,
  scenarioOptions,
  scenarioPolicy,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: policy reload', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let dir: string;
  let backend: EchoBackend;
  let gw: Gateway;
  let now = 0;
  let policyPath: string;
  const events: AuditEvent[] = [];
  let certs: Record<'server' | 'good' | 'impostor' | 'debug', { cert: string; key: string }>;

  before(async () => {
    dir = tempDir();
    certs = {
      server: opensslCert(dir, 'server', '127.0.0.1'),
      good: opensslCert(dir, 'good'),
      impostor: opensslCert(dir, 'impostor'),
      debug: opensslCert(dir, 'debug'),
    };
    backend = await echoBackend();
    const collateral = scenarioCollateral();
    now = collateral.now;
    policyPath = writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  collateral: ${collateral.path}
policy: ./policy.yaml
admin: 127.0.0.1:0
limits: { handshakeTimeoutMs: 1500, drainTimeoutMs: 1000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}/base" }
`,
    );
    gw = await startGateway(
      join(dir, 'gateway.yaml'),
      scenarioOptions(events, () => now),
    );
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  const url = (path: string) => `https://127.0.0.1:${gw.addresses().api?.port}${path}`;
  const curl = (who: 'good' | 'impostor' | 'debug' | null, path: string, extra: string[] = []) =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      ...(who ? ['--cert', certs[who].cert, '--key', certs[who].key] : []),
      ...extra,
      url(path),
    ]);

  it('reload: a policy admitting the impostor applies; a broken policy is refused and the old one stays', {
    skip: !haveBinary('curl'),
  }, async () => {
    const hashOf = async () =>
      /ratls_policy_info\{hash="([0-9a-f]{64})"\} 1/.exec(await gw.metrics.registry.metrics())?.[1];
    const h0 = await hashOf();
    assert.notEqual((await curl('impostor', '/')).code, 0);
    writeFileSync(policyPath, scenarioPolicy([GOOD, IMPOSTOR]));
    const ok = await gw.reload();
    assert.equal(ok.ok, true);
    const h1 = await hashOf();
    assert.notEqual(h1, h0);
    const r = await curl('impostor', '/');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers['x-ratls-measurement'],
      IMPOSTOR,
    );
    writeFileSync(policyPath, 'version: 1\nidentities:\n  - name: broken\n    sgx: { mrEnclave: "zz" }\n');
    const bad = await gw.reload();
    assert.equal(bad.ok, false);
    assert.equal(await hashOf(), h1);
    assert.equal((await curl('impostor', '/')).code, 0, 'old policy still in force');
    const reloads = events.filter((e) => e.event.action === 'policy-reload');
    assert.deepEqual(
      reloads.map((e) => e.event.reason),
      ['reloaded', 'reload_failed'],
    );
    assert.match(await gw.metrics.registry.metrics(), /ratls_reloads_total\{result="failed"\} 1/);
  });
});
