/**
 * Connection limits: a certificate above maxCertificateBytes is refused before appraisal; a
 * connection over maxConnections is dropped and audited; an idle connection is closed. Each counted
 * as a limit hit.
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { opensslCert, type TcpScenario, tcpScenario, waitForMetric } from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: connection limits', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let s: TcpScenario<Gateway, 'good'>;
  let gw: Gateway;
  const events: AuditEvent[] = [];
  let good: { cert: string; key: string };
  let big: { cert: string; key: string };

  before(async () => {
    s = await tcpScenario(startGateway, {
      name: 'echo',
      clients: ['good'],
      limits: '{ maxConnections: 1, idleTimeoutMs: 400, maxCertificateBytes: 1024, drainTimeoutMs: 500 }',
      events,
    });
    ({ gw } = s);
    good = s.certs.good;
    // Same CN (the stand-in would accept it), but a certificate above maxCertificateBytes.
    big = opensslCert(
      s.dir,
      'big',
      'good',
      Array.from({ length: 40 }, (_, i) => `host-${i}.padding.example.internal`),
    );
  });

  after(async () => {
    await s?.close();
  });

  const connect = (c: { cert: string; key: string }) => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port: gw.addresses().echo?.port as number,
      cert: readFileSync(c.cert),
      key: readFileSync(c.key),
      rejectUnauthorized: false,
    });
    sock.on('error', () => undefined);
    return sock;
  };
  const metric = (re: RegExp) => waitForMetric(gw, re);
  const echoOnce = async (sock: tls.TLSSocket) => {
    sock.write('hi');
    return new Promise<string>((r) => {
      sock.once('data', (c: Buffer) => r(c.toString()));
      sock.once('close', () => r(''));
    });
  };

  it('refuses a certificate above maxCertificateBytes before appraising it', async () => {
    const der = new X509Certificate(readFileSync(big.cert)).raw;
    assert.ok(der.length > 1024, `test certificate is ${der.length} bytes`);
    const sock = connect(big);
    assert.equal(await echoOnce(sock), '');
    assert.equal(events.at(-1)?.error?.code, 'ERR_TLS_CERTIFICATE_TOO_LARGE');
    assert.ok(await metric(/ratls_limit_hits_total\{listener="echo",limit="max_certificate_bytes"\} 1/));
  });

  it('drops a second connection over maxConnections, and closes an idle one', async () => {
    const first = connect(good);
    assert.equal(await echoOnce(first), 'hi');
    const before = events.length;
    const second = connect(good);
    await new Promise<void>((r) => second.once('close', () => r()));
    assert.equal(events.length, before + 1);
    assert.equal(events.at(-1)?.error?.code, 'ERR_GATEWAY_MAX_CONNECTIONS');
    assert.ok(await metric(/ratls_limit_hits_total\{listener="echo",limit="max_connections"\} 1/));
    assert.ok(await metric(/ratls_active_connections\{listener="echo"\} 1/));
    // No traffic for idleTimeoutMs: the gateway closes the first connection.
    await new Promise<void>((r) => first.once('close', () => r()));
    assert.ok(await metric(/ratls_limit_hits_total\{listener="echo",limit="idle_timeout"\} 1/));
    assert.ok(await metric(/ratls_active_connections\{listener="echo"\} 0/));
  });
});
