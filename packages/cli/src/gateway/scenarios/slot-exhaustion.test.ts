/**
 * Slot exhaustion (security finding 7): a flood of idle pre-TLS sockets from one source takes at
 * most its per-source share of the listener's waiting slots; an attested client from another
 * source still gets through at once; every refused socket is audited once and counted.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { type TcpScenario, tcpScenario } from '@ratls/test-support/gateway-helpers';
import { idleFlood } from '@ratls/test-support/idle-flood';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: slot exhaustion by idle sockets', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let s: TcpScenario<Gateway, 'good'>;
  let gw: Gateway;
  const events: AuditEvent[] = [];
  let good: { cert: string; key: string };

  before(async () => {
    // Gateway-wide: the defaults (32 waiting per source); a first-byte deadline longer than the test.
    s = await tcpScenario(startGateway, {
      name: 'echo',
      clients: ['good'],
      limits: '{ clientHelloTimeoutMs: 10000, drainTimeoutMs: 500 }',
      events,
    });
    ({ gw } = s);
    good = s.certs.good;
  });

  after(async () => {
    await s?.close();
  });

  const metric = (re: RegExp, tries?: number) => s.metric(re, tries);
  const codes = (code: string) => s.codes(code);

  it('1,100 idle sockets from 127.0.0.1 leave an attested client from 127.0.0.2 unaffected', async () => {
    const flood = idleFlood(gw.addresses().echo?.port as number, '127.0.0.1', 1_100);
    try {
      await flood.ready;
      for (let i = 0; i < 200 && codes('ERR_TLS_TOO_MANY_FROM_SOURCE') < 1_100 - 32; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(codes('ERR_TLS_TOO_MANY_FROM_SOURCE'), 1_100 - 32, 'one audit event per refused socket');
      const t0 = Date.now();
      // `localAddress` reaches net.connect; Node's typings of tls.connect leave it out.
      const options = {
        host: '127.0.0.1',
        port: gw.addresses().echo?.port as number,
        localAddress: '127.0.0.2',
        cert: readFileSync(good.cert),
        key: readFileSync(good.key),
        rejectUnauthorized: false,
      };
      const sock = tls.connect(options);
      sock.on('error', () => undefined);
      await new Promise<void>((r) => sock.once('secureConnect', () => r()));
      sock.write('hi');
      const [echo] = (await new Promise((r) => sock.once('data', (d: Buffer) => r([d.toString()])))) as [string];
      const ms = Date.now() - t0;
      sock.destroy();
      assert.equal(echo, 'hi');
      assert.ok(ms < 1000, `attested client took ${ms} ms`);
      const accepted = events.filter((e) => e.event.action === 'ratls-handshake' && e.event.outcome === 'success');
      assert.deepEqual(
        accepted.map((e) => e.source?.ip),
        ['127.0.0.2'],
      );
      assert.ok(
        await metric(/ratls_limit_hits_total\{listener="echo",limit="max_pending_per_source"\} 1068\n/),
        'per-source limit hits counted',
      );
    } finally {
      await flood.stop();
    }
  });
});
