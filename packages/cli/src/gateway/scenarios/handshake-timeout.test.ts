/**
 * A client that opens a connection and never completes the handshake is closed at the handshake
 * deadline, counted as a limit hit and audited.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  echoBackend,
  GOOD,
  handshakeEvents,
  opensslCert,
  scenarioCollateral,
  scenarioOptions,
  scenarioPolicy,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: handshake timeout', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let dir: string;
  let backend: EchoBackend;
  let gw: Gateway;
  let now = 0;
  const events: AuditEvent[] = [];

  before(async () => {
    dir = tempDir();
    opensslCert(dir, 'server', '127.0.0.1');
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

  const handshakes = () => handshakeEvents(events);

  it('counts a handshake timeout as a limit hit and audits it', async () => {
    const before = handshakes().length;
    const raw = net.connect(gw.addresses().api?.port as number, '127.0.0.1');
    await new Promise<void>((r) => raw.once('close', () => r()));
    const text = await gw.metrics.registry.metrics();
    assert.match(text, /ratls_limit_hits_total\{listener="api",limit="handshake_timeout"\} 1/);
    assert.equal(handshakes().slice(before).at(-1)?.error?.code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
  });
});
