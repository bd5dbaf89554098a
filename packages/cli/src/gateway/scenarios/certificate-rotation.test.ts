/**
 * Certificate rotation: a server certificate replaced on disk is served to new handshakes after
 * the file watcher reloads (no SIGHUP), and the reload is audited.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  GOOD,
  haveBinary,
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

describe('gateway scenario: certificate rotation by file watch', {
  skip: !HAVE_VECTORS ? 'needs a collateral vector' : haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let dir: string;
  let gw: Gateway;
  let slow: http.Server;
  const events: AuditEvent[] = [];
  let good: { cert: string; key: string };

  before(async () => {
    dir = tempDir();
    opensslCert(dir, 'server', 'first');
    good = opensslCert(dir, 'good');
    slow = http.createServer((_req, res) => {
      setTimeout(() => res.end('slow-done'), 600);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const { path: collateral, now } = scenarioCollateral();
    writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust: { collateral: ${collateral} }
policy: ./policy.yaml
limits: { drainTimeoutMs: 5000 }
listeners:
  - { name: web, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${(slow.address() as net.AddressInfo).port}" } }
`,
    );
    gw = await startGateway(
      join(dir, 'gateway.yaml'),
      scenarioOptions(events, () => now, { watch: { debounceMs: 50 } }),
    );
  });

  after(async () => {
    await gw?.close();
    slow?.closeAllConnections();
    await new Promise<void>((r) => (slow ? slow.close(() => r()) : r()));
  });

  const serverCn = async (port: number) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      cert: readFileSync(good.cert),
      key: readFileSync(good.key),
      rejectUnauthorized: false,
    });
    await new Promise<void>((r, j) => {
      s.once('secureConnect', () => r());
      s.once('error', j);
    });
    const cn = s.getPeerX509Certificate()?.subject;
    s.destroy();
    return cn;
  };

  it('serves a replaced certificate to new handshakes without SIGHUP', async () => {
    const port = gw.addresses().web?.port as number;
    assert.match((await serverCn(port)) ?? '', /CN=first/);
    opensslCert(dir, 'server', 'second');
    let cn: string | undefined;
    for (let i = 0; i < 60; i++) {
      cn = await serverCn(port);
      if (cn?.includes('CN=second')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(cn ?? '', /CN=second/);
    assert.ok(events.some((e) => e.event.action === 'policy-reload' && e.event.outcome === 'success'));
  });
});
