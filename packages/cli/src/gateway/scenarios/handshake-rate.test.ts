/**
 * Per-source handshake rate (issue 12): a listener's `maxHandshakesPerSecondPerSource` closes the
 * source's connection over its rate on accept, before any TLS byte, with its own code, counted
 * and audited; another source is still admitted. The scenario's decision clock is fixed, so the
 * bucket does not refill during the test.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type TcpScenario, tcpScenario } from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: per-source handshake rate', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let s: TcpScenario<Gateway, never>;

  before(async () => {
    s = await tcpScenario(startGateway, {
      name: 'rate',
      clients: [],
      limits: '{ clientHelloTimeoutMs: 10000, drainTimeoutMs: 500 }',
      listenerLimits: '{ maxHandshakesPerSecondPerSource: 2 }',
    });
  });

  after(async () => {
    await s?.close();
  });

  /** A socket that sends the first bytes of a ClientHello; resolves with the bytes it got before closing. */
  const hello = (from: string) => {
    const c = net.connect({ host: '127.0.0.1', port: s.gw.addresses().rate?.port as number, localAddress: from });
    c.on('error', () => undefined);
    const got: Buffer[] = [];
    c.on('data', (d: Buffer) => got.push(d));
    c.once('connect', () => c.write(Buffer.from('16030100c8010000c40303', 'hex')));
    const closed = new Promise<number>((r) => c.once('close', () => r(Buffer.concat(got).length)));
    return { c, closed };
  };

  it('the third handshake in a second from one source is refused before TLS; another source is admitted', async () => {
    const held = [hello('127.0.0.1'), hello('127.0.0.1')];
    await Promise.all(held.map((h) => new Promise((r) => h.c.once('connect', r))));
    await new Promise((r) => setTimeout(r, 50));
    const third = hello('127.0.0.1');
    assert.equal(await third.closed, 0);
    assert.equal(s.codes('ERR_TLS_SOURCE_RATE_LIMITED'), 1);
    assert.ok(
      await s.metric(/ratls_limit_hits_total\{listener="rate",limit="max_handshakes_per_second_per_source"\} 1\n/),
    );
    const other = hello('127.0.0.2');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(other.c.destroyed, false);
    for (const h of [...held, other]) h.c.destroy();
    assert.equal(s.codes('ERR_TLS_SOURCE_RATE_LIMITED'), 1);
  });
});
