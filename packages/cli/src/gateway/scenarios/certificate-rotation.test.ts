/**
 * Certificate rotation: a server certificate replaced on disk is served to new handshakes after
 * the file watcher reloads (no SIGHUP), and the reload is audited.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EchoBackend, opensslCert, servedSubject, webScenario } from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: certificate rotation by file watch', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let dir: string;
  let gw: Gateway;
  let backend: EchoBackend;
  const events: AuditEvent[] = [];
  let good: { cert: string; key: string };

  before(async () => {
    ({ dir, gw, backend, good } = await webScenario(startGateway, { events, watch: { debounceMs: 50 } }));
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  const serverCn = (port: number) => servedSubject(port, good);

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
