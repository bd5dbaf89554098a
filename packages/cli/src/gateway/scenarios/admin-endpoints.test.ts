/**
 * The admin server: /metrics with bounded labels (no measurement, no address), /healthz 200 while
 * the collateral is current and 503 with a reason once the clock passes its nextUpdate.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  echoBackend,
  GOOD,
  haveBinary,
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

describe('gateway scenario: admin /metrics and /healthz', {
  skip: !HAVE_VECTORS ? 'needs a collateral vector' : haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let dir: string;
  let backend: EchoBackend;
  let gw: Gateway;
  let now = 0;
  let nextUpdateMs = 0;
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
    nextUpdateMs = collateral.nextUpdateMs;
    now = collateral.now;
    writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
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
  /** The traffic the counters below describe: one accepted and one refused attempt. */
  before(async () => {
    assert.equal((await curl('good', '/hello')).code, 0);
    assert.notEqual((await curl('impostor', '/secret')).code, 0);
  });

  it('serves /metrics with bounded labels and /healthz that turns 503 past nextUpdate', async () => {
    const admin = `http://127.0.0.1:${gw.addresses().admin?.port}`;
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
    const ok = await fetch(`${admin}/healthz`);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { status: string }).status, 'ok');
    now = nextUpdateMs + 1000;
    try {
      const bad = await fetch(`${admin}/healthz`);
      assert.equal(bad.status, 503);
      const body = (await bad.json()) as { status: string; reasons: string[] };
      assert.equal(body.status, 'unhealthy');
      assert.match(body.reasons.join(' '), /past its nextUpdate/);
    } finally {
      now = nextUpdateMs - 86_400_000;
    }
  });
});
