/**
 * Pre-TLS limits per listener (security finding 7): a listener's own per-source cap refuses the
 * 5th idle socket, its first-byte deadline closes the idle ones, and a non-TLS first byte is refused
 * with its own code; each counted and audited.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type TcpScenario, tcpScenario } from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: pre-TLS limits per listener', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let s: TcpScenario<Gateway, never>;
  let gw: Gateway;
  const events: AuditEvent[] = [];

  before(async () => {
    // Gateway-wide: a long first-byte deadline and the default per-source cap; `hello` sets its own.
    s = await tcpScenario(startGateway, {
      name: 'hello',
      clients: [],
      limits: '{ clientHelloTimeoutMs: 10000, drainTimeoutMs: 500 }',
      listenerLimits: '{ clientHelloTimeoutMs: 200, maxPendingPerSource: 4 }',
      events,
    });
    ({ gw } = s);
  });

  after(async () => {
    await s?.close();
  });

  const metric = (re: RegExp, tries?: number) => s.metric(re, tries);
  const codes = (code: string) => s.codes(code);
  const raw = (listener: string, from = '127.0.0.1') => {
    const s = net.connect({ host: '127.0.0.1', port: gw.addresses()[listener]?.port as number, localAddress: from });
    s.on('error', () => undefined);
    s.resume();
    return s;
  };
  const closed = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

  it('per listener: the 5th idle socket is refused, the idle ones closed at the first-byte deadline', async () => {
    const before = codes('ERR_TLS_TOO_MANY_FROM_SOURCE');
    const idle = [0, 1, 2, 3].map(() => raw('hello'));
    await Promise.all(idle.map((s) => new Promise((r) => s.once('connect', r))));
    const fifth = raw('hello');
    await closed(fifth);
    assert.equal(codes('ERR_TLS_TOO_MANY_FROM_SOURCE'), before + 1);
    const t0 = Date.now();
    await Promise.all(idle.map(closed));
    assert.ok(Date.now() - t0 < 1500);
    assert.ok(await metric(/ratls_limit_hits_total\{listener="hello",limit="max_pending_per_source"\} 1\n/));
    assert.ok(await metric(/ratls_limit_hits_total\{listener="hello",limit="client_hello_timeout"\} 4\n/));
    assert.equal(codes('ERR_TLS_CLIENT_HELLO_TIMEOUT'), 4);
  });

  it('a non-TLS first byte is refused with its own code and counted as a rejection', async () => {
    const s = raw('hello', '127.0.0.3');
    s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed(s);
    assert.equal(events.at(-1)?.error?.code, 'ERR_TLS_NOT_TLS_HANDSHAKE');
    assert.ok(
      await metric(
        /ratls_attestation_rejections_total\{listener="hello",tee="none",reason="ERR_TLS_NOT_TLS_HANDSHAKE"\} 1\n/,
      ),
    );
  });
});
