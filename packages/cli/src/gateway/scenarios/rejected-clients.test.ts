/**
 * Rejected clients (impostor measurement, debug enclave, no certificate; curl and openssl) get
 * nothing through to the backend, and each attempt is audited once with its reason.
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

describe('gateway scenario: rejected clients', {
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

  it('refuses impostor, debug and certificate-less clients; one audit event each; backend untouched', {
    skip: !haveBinary('curl'),
  }, async () => {
    const hits = backend.requests.length;
    const before = handshakes().length;
    for (const who of ['impostor', 'debug', null] as const) {
      const r = await curl(who, '/secret', ['-d', 'payload']);
      assert.notEqual(r.code, 0, `${who} got through: ${r.stdout}`);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(backend.requests.length, hits);
    const ev = handshakes().slice(before);
    assert.equal(ev.length, 3);
    assert.deepEqual(
      ev.map((e) => e.event.reason),
      ['measurement_mismatch', 'debug_not_allowed', 'verification_failed'],
    );
    assert.equal(ev[2]?.error?.code, 'ERR_TLS_NO_PEER_CERTIFICATE');
  });

  it('openssl s_client without a certificate gets nothing through', { skip: !haveBinary('openssl') }, async () => {
    const hits = backend.requests.length;
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${gw.addresses().api?.port}`, '-quiet'], {
      input: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    });
    assert.doesNotMatch(r.stdout, /HTTP\/1\.1 200/);
    assert.equal(backend.requests.length, hits);
  });
});
