/**
 * Graceful drain: close() lets an in-flight request finish before the deadline, then the
 * listener refuses new connections.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  haveBinary,
  run,
  scenarioCerts,
  scenarioCollateral,
  scenarioOptions,
  tempDir,
  writeScenarioConfig,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: graceful drain', {
  skip: !HAVE_VECTORS ? 'needs a collateral vector' : haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let gw: Gateway;
  let slow: http.Server;
  const events: AuditEvent[] = [];
  let good: { cert: string; key: string };

  before(async () => {
    const dir = tempDir();
    ({ good } = scenarioCerts(dir, ['good']));
    slow = http.createServer((_req, res) => {
      setTimeout(() => res.end('slow-done'), 600);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const config = writeScenarioConfig(dir, {
      limits: '{ drainTimeoutMs: 5000 }',
      listeners: `  - { name: web, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${(slow.address() as net.AddressInfo).port}" } }\n`,
    });
    gw = await startGateway(
      config,
      scenarioOptions(events, () => scenarioCollateral().now),
    );
  });

  after(async () => {
    await gw?.close();
    slow?.closeAllConnections();
    await new Promise<void>((r) => (slow ? slow.close(() => r()) : r()));
  });

  it('close() lets an in-flight request finish, then refuses new connections', async () => {
    const port = gw.addresses().web?.port as number;
    const inflight = run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      '--cert',
      good.cert,
      '--key',
      good.key,
      `https://127.0.0.1:${port}/slow`,
    ]);
    await new Promise((r) => setTimeout(r, 300));
    const closing = gw.close();
    const r = await inflight;
    assert.equal(r.stdout, 'slow-done', r.stderr);
    await closing;
    const after = await run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '5',
      '--cert',
      good.cert,
      '--key',
      good.key,
      `https://127.0.0.1:${port}/`,
    ]);
    assert.notEqual(after.code, 0);
  });
});
