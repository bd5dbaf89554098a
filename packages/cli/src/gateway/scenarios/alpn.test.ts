/**
 * ALPN per listener: the listener's protocols are offered and selected (PostgreSQL 17's direct TLS
 * needs `postgresql`); a client offering only other protocols is refused by TLS; a client offering
 * none is served; a listener without `alpn` selects nothing.
 * In-process gateway, stand-in certificate verifier, real TLS clients.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  type ScenarioCerts,
  scenarioCerts,
  scenarioCollateral,
  scenarioOptions,
  type TcpEchoBackend,
  tcpEchoBackend,
  tempDir,
  writeScenarioConfig,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: ALPN per listener', { skip: HAVE_VECTORS ? false : 'needs a collateral vector' }, () => {
  let gw: Gateway;
  let backend: TcpEchoBackend;
  const events: AuditEvent[] = [];
  let certs: ScenarioCerts<'good'>;

  before(async () => {
    const dir = tempDir();
    certs = scenarioCerts(dir, ['good']);
    backend = await tcpEchoBackend();
    const l = (name: string, extra: string) =>
      `  - name: ${name}\n    listen: 127.0.0.1:0\n    tls: { cert: ./server.crt, key: ./server.key }\n    forward: { tcp: "127.0.0.1:${backend.port}" }\n${extra}`;
    const config = writeScenarioConfig(dir, {
      limits: '{ handshakeTimeoutMs: 2000, drainTimeoutMs: 500 }',
      listeners: l('pg', '    alpn: [postgresql]\n') + l('plain', ''),
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

  const hello = (listener: string, ALPNProtocols?: string[]) =>
    new Promise<{ ok: boolean; alpn: string | false | null }>((resolve) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: gw.addresses()[listener]?.port as number,
        cert: readFileSync(certs.good.cert),
        key: readFileSync(certs.good.key),
        rejectUnauthorized: false,
        ...(ALPNProtocols ? { ALPNProtocols } : {}),
      });
      s.on('error', () => resolve({ ok: false, alpn: null }));
      s.once('secureConnect', () => {
        s.write('x');
        s.once('data', () => {
          resolve({ ok: true, alpn: s.alpnProtocol });
          s.destroy();
        });
      });
      s.once('close', () => resolve({ ok: false, alpn: null }));
    });

  it('selects the listener protocol when the client offers it', async () => {
    assert.deepEqual(await hello('pg', ['postgresql']), { ok: true, alpn: 'postgresql' });
  });

  it('refuses a client that offers only other protocols', async () => {
    assert.equal((await hello('pg', ['h2', 'http/1.1'])).ok, false);
  });

  it('serves a client that offers no ALPN, and selects nothing on a listener without alpn', async () => {
    assert.deepEqual(await hello('pg'), { ok: true, alpn: false });
    assert.deepEqual(await hello('plain', ['postgresql']), { ok: true, alpn: false });
  });
});
