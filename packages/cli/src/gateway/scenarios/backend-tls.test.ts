/**
 * TLS to backends, verified strictly: an HTTPS backend with its own CA is forwarded to when its
 * certificate verifies against the configured CA and servername, and is a 502 (audited
 * ERR_HTTP_BACKEND_TLS) when it does not — wrong CA or wrong name; a TCP backend over TLS echoes
 * when it verifies and the client is closed (audited ERR_GATEWAY_BACKEND_TLS) when it does not,
 * with not one client byte reaching that backend.
 * In-process gateway, stand-in certificate verifier, real TLS everywhere (openssl certificates).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  opensslCert,
  type ScenarioCerts,
  scenarioCerts,
  scenarioCollateral,
  scenarioOptions,
  tempDir,
  writeScenarioConfig,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: TLS backends', { skip: HAVE_VECTORS ? false : 'needs a collateral vector' }, () => {
  let gw: Gateway;
  let httpsBackend: https.Server;
  let tlsBackend: tls.Server;
  const tlsBackendBytes: Buffer[] = [];
  const events: AuditEvent[] = [];
  let certs: ScenarioCerts<'good'>;

  before(async () => {
    const dir = tempDir();
    certs = scenarioCerts(dir, ['good']);
    // The backend's own self-signed CA-style certificate for backend.internal; another one the
    // backend does not use stands for a wrong CA.
    const backend = opensslCert(dir, 'backend', 'backend', ['backend.internal']);
    opensslCert(dir, 'other', 'other', ['backend.internal']);
    const creds = { cert: readFileSync(backend.cert), key: readFileSync(backend.key) };
    httpsBackend = https.createServer(creds, (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, identity: req.headers['x-ratls-identity'] }));
    });
    tlsBackend = tls.createServer(creds, (s) => {
      s.on('data', (c: Buffer) => {
        tlsBackendBytes.push(c);
        s.write(c);
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => httpsBackend.listen(0, '127.0.0.1', () => r()));
    await new Promise<void>((r) => tlsBackend.listen(0, '127.0.0.1', () => r()));
    const hp = (httpsBackend.address() as net.AddressInfo).port;
    const tp = (tlsBackend.address() as net.AddressInfo).port;
    const l = (name: string, forward: string) =>
      `  - name: ${name}\n    listen: 127.0.0.1:0\n    tls: { cert: ./server.crt, key: ./server.key }\n    forward: ${forward}\n`;
    const config = writeScenarioConfig(dir, {
      limits: '{ handshakeTimeoutMs: 1500, drainTimeoutMs: 500 }',
      listeners:
        l(
          'good',
          `{ http: "https://127.0.0.1:${hp}/base", tls: { ca: ./backend.crt, servername: backend.internal } }`,
        ) +
        l('wrongca', `{ http: "https://127.0.0.1:${hp}", tls: { ca: ./other.crt, servername: backend.internal } }`) +
        l('wrongname', `{ http: "https://127.0.0.1:${hp}", tls: { ca: ./backend.crt, servername: vault.internal } }`) +
        l('tcpgood', `{ tcp: "127.0.0.1:${tp}", tls: { ca: ./backend.crt, servername: backend.internal } }`) +
        l('tcpbad', `{ tcp: "127.0.0.1:${tp}", tls: { ca: ./other.crt, servername: backend.internal } }`),
    });
    gw = await startGateway(
      config,
      scenarioOptions(events, () => scenarioCollateral().now),
    );
  });

  after(async () => {
    await gw?.close();
    await new Promise<void>((r) => (httpsBackend ? httpsBackend.close(() => r()) : r()));
    await new Promise<void>((r) => (tlsBackend ? tlsBackend.close(() => r()) : r()));
  });

  const get = (listener: string, path: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: gw.addresses()[listener]?.port,
          path,
          cert: readFileSync(certs.good.cert),
          key: readFileSync(certs.good.key),
          rejectUnauthorized: false,
          agent: false,
          timeout: 10_000,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString('utf8');
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  const httpRefusals = (code: string) =>
    events.filter((e) => e.event.action === 'ratls-http-request' && e.error?.code === code).length;

  it('forwards to an HTTPS backend whose certificate verifies against its CA and name', async () => {
    const r = await get('good', '/hello');
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(JSON.parse(r.body), { url: '/base/hello', identity: 'payments' });
  });

  it('answers 502 ERR_HTTP_BACKEND_TLS, audited, when the backend certificate is from another CA', async () => {
    const before = httpRefusals('ERR_HTTP_BACKEND_TLS');
    const r = await get('wrongca', '/x');
    assert.equal(r.status, 502);
    assert.equal(JSON.parse(r.body).code, 'ERR_HTTP_BACKEND_TLS');
    assert.equal(httpRefusals('ERR_HTTP_BACKEND_TLS'), before + 1);
  });

  it('answers 502 ERR_HTTP_BACKEND_TLS when the backend certificate does not carry the servername', async () => {
    const r = await get('wrongname', '/x');
    assert.equal(r.status, 502);
    assert.equal(JSON.parse(r.body).code, 'ERR_HTTP_BACKEND_TLS');
  });

  const tcpSession = async (listener: string) => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port: gw.addresses()[listener]?.port as number,
      cert: readFileSync(certs.good.cert),
      key: readFileSync(certs.good.key),
      rejectUnauthorized: false,
    });
    await new Promise<void>((r, j) => {
      sock.once('secureConnect', () => r());
      sock.once('error', j);
    });
    sock.on('error', () => undefined);
    return sock;
  };

  it('relays TCP over TLS to a backend whose certificate verifies', async () => {
    const sock = await tcpSession('tcpgood');
    sock.write('PING');
    const got = await new Promise<string>((r) => sock.once('data', (c: Buffer) => r(c.toString('utf8'))));
    assert.equal(got, 'PING');
    sock.destroy();
  });

  it('closes the client and audits ERR_GATEWAY_BACKEND_TLS when a TCP backend does not verify; no byte reaches it', async () => {
    const seen = tlsBackendBytes.length;
    const sock = await tcpSession('tcpbad');
    sock.write('SECRET');
    await new Promise<void>((r) => sock.once('close', () => r()));
    const ev = events.filter((e) => e.error?.code === 'ERR_GATEWAY_BACKEND_TLS');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]?.event.action, 'ratls-backend-tls');
    assert.equal(ev[0]?.labels?.listener, 'tcpbad');
    assert.equal(tlsBackendBytes.length, seen, 'the unverified backend received nothing');
  });
});
