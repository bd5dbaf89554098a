/**
 * An accepted client reaches the HTTP backend with identity headers only the gateway sets: every
 * client copy of x-ratls-* (any case) and x-forwarded-for is replaced, one audit event per attempt.
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
  handshakeEvents,
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

describe('gateway scenario: HTTP identity headers', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let dir: string;
  let backend: EchoBackend;
  let gw: Gateway;
  let now = 0;
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
  const handshakes = () => handshakeEvents(events);

  it('forwards an accepted client with identity headers and strips spoofed x-ratls-*', {
    skip: !haveBinary('curl'),
  }, async () => {
    const before = handshakes().length;
    const r = await curl('good', '/hello?x=1', [
      '-H',
      'x-ratls-identity: admin',
      '-H',
      'X-RATLS-TEE: nitro',
      '-H',
      'X-Ratls-Identity: root',
      '-H',
      'x-forwarded-for: 1.2.3.4',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as EchoBackend['requests'][number];
    assert.equal(seen.url, '/base/hello?x=1');
    assert.equal(seen.headers['x-ratls-identity'], 'payments');
    assert.equal(seen.headers['x-ratls-tee'], 'sgx');
    assert.equal(seen.headers['x-ratls-measurement'], GOOD);
    assert.equal(seen.headers['x-ratls-tcb-status'], 'UpToDate');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    const ratls = seen.rawHeaders.filter((_, i) => i % 2 === 0).filter((n) => n.toLowerCase().startsWith('x-ratls-'));
    assert.deepEqual(ratls.sort(), ['x-ratls-identity', 'x-ratls-measurement', 'x-ratls-tcb-status', 'x-ratls-tee']);
    assert.equal(handshakes().length, before + 1);
    assert.equal(handshakes().at(-1)?.event.outcome, 'success');
  });
});
