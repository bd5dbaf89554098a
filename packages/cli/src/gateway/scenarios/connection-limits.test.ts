/**
 * Per-listener connection limits after the decision (issue 14): a TCP listener has no idle
 * timeout unless asked (a quiet Redis SUBSCRIBE lives); `maxConnectionAgeMs` ends a long session
 * so the client re-attests (audited ERR_GATEWAY_CONNECTION_AGE); a policy reload that no longer
 * admits an open connection's enclave closes it (audited ERR_GATEWAY_POLICY_CHANGED), unless the
 * listener says `onPolicyChange: keep`.
 * In-process gateway, stand-in certificate verifier, real policy reload, real TLS clients.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  GOOD,
  IMPOSTOR,
  type ScenarioCerts,
  scenarioCerts,
  scenarioCollateral,
  scenarioOptions,
  scenarioPolicy,
  type TcpEchoBackend,
  tcpEchoBackend,
  tempDir,
  writeScenarioConfig,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: per-listener connection limits', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let gw: Gateway;
  let backend: TcpEchoBackend;
  let dir: string;
  const events: AuditEvent[] = [];
  let certs: ScenarioCerts<'good'>;

  before(async () => {
    dir = tempDir();
    certs = scenarioCerts(dir, ['good']);
    backend = await tcpEchoBackend();
    const l = (name: string, own: string) =>
      `  - name: ${name}\n    listen: 127.0.0.1:0\n    tls: { cert: ./server.crt, key: ./server.key }\n    forward: { tcp: "127.0.0.1:${backend.port}" }\n    limits: ${own}\n`;
    const config = writeScenarioConfig(dir, {
      limits: '{ handshakeTimeoutMs: 2000, drainTimeoutMs: 500 }',
      listeners:
        l('quiet', '{ handshakeTimeoutMs: 2000 }') +
        l('aged', '{ maxConnectionAgeMs: 600 }') +
        l('strict', '{ onPolicyChange: close }') +
        l('lenient', '{ onPolicyChange: keep }'),
    });
    gw = await startGateway(
      config,
      scenarioOptions(events, () => scenarioCollateral().now),
    );
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  const open = async (listener: string) => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port: gw.addresses()[listener]?.port as number,
      cert: readFileSync(certs.good.cert),
      key: readFileSync(certs.good.key),
      rejectUnauthorized: false,
    });
    sock.on('error', () => undefined);
    await new Promise<void>((r, j) => {
      sock.once('secureConnect', () => r());
      sock.once('error', j);
    });
    sock.write('hi');
    await new Promise<void>((r) => sock.once('data', () => r()));
    let closed = false;
    sock.once('close', () => {
      closed = true;
    });
    return { sock, closed: () => closed };
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const waitFor = async (pred: () => boolean, ms = 5000) => {
    for (let t = 0; t < ms && !pred(); t += 25) await sleep(25);
    return pred();
  };
  const closedWith = (code: string, listener: string) =>
    events.filter((e) => e.error?.code === code && e.labels?.listener === listener);

  it('keeps a quiet TCP connection open: no idle timeout by default on tcp listeners', async () => {
    const c = await open('quiet');
    // Longer than the age bound below and than any handshake bound: only an idle timeout would close it.
    await sleep(1200);
    assert.equal(c.closed(), false);
    c.sock.write('still');
    await new Promise<void>((r) => c.sock.once('data', () => r()));
    c.sock.destroy();
  });

  it('ends a session at maxConnectionAgeMs even while it is busy, audited', async () => {
    const c = await open('aged');
    const busy = setInterval(() => c.sock.writable && c.sock.write('x'), 50);
    try {
      assert.ok(await waitFor(c.closed), 'closed by age');
    } finally {
      clearInterval(busy);
    }
    const ev = closedWith('ERR_GATEWAY_CONNECTION_AGE', 'aged');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]?.event.action, 'ratls-connection-closed');
  });

  it('closes open connections the reloaded policy refuses (onPolicyChange: close), keeps them with keep', async () => {
    const strict = await open('strict');
    const lenient = await open('lenient');
    writeFileSync(join(dir, 'policy.yaml'), scenarioPolicy([IMPOSTOR]));
    const r = await gw.reload();
    assert.ok(r.ok);
    assert.ok(await waitFor(strict.closed), 'the strict listener closed the refused connection');
    const ev = closedWith('ERR_GATEWAY_POLICY_CHANGED', 'strict');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]?.event.action, 'ratls-policy-change');
    assert.equal(closedWith('ERR_GATEWAY_POLICY_CHANGED', 'lenient').length, 0);
    await sleep(200);
    assert.equal(lenient.closed(), false);
    // The lenient connection still works; a new handshake follows the new policy.
    lenient.sock.write('ok');
    await new Promise<void>((r) => lenient.sock.once('data', () => r()));
    lenient.sock.destroy();
    writeFileSync(join(dir, 'policy.yaml'), scenarioPolicy([GOOD]));
    assert.ok((await gw.reload()).ok);
  });
});
