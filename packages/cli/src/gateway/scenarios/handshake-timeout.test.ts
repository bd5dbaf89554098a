/**
 * A client that opens a connection and never completes the handshake is closed at the handshake
 * deadline, counted as a limit hit and audited.
 * In-process gateway over the shared HTTP scenario (@ratls/test-support/gateway-helpers): stand-in
 * certificate verifier, real policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type HttpScenario, httpScenario } from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: handshake timeout', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let s: HttpScenario<Gateway>;
  before(async () => {
    s = await httpScenario(startGateway);
  });
  after(async () => {
    await s?.close();
  });

  it('counts a handshake timeout as a limit hit and audits it', async () => {
    const before = s.handshakes().length;
    const raw = net.connect(s.gw.addresses().api?.port as number, '127.0.0.1');
    await new Promise<void>((r) => raw.once('close', () => r()));
    const text = await s.gw.metrics.registry.metrics();
    assert.match(text, /ratls_limit_hits_total\{listener="api",limit="handshake_timeout"\} 1/);
    assert.equal(s.handshakes().slice(before).at(-1)?.error?.code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
  });
});
