/**
 * WebSocket through the HTTP forwarder: an accepted identity's `Upgrade: websocket` reaches the
 * backend with the gateway's identity headers (the client's x-ratls-* stripped) and echoes both
 * ways; `Upgrade: h2c` is refused 501; an impostor never gets a handshake, let alone an upgrade.
 * In-process gateway, stand-in certificate verifier, real TLS and a hand-rolled RFC 6455 echo.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
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

/** RFC 6455 §1.3. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const accept = (key: string) => createHash('sha1').update(`${key}${WS_GUID}`).digest('base64');

/** One short text frame (RFC 6455 §5.2), masked when the client sends it. */
function frame(text: string, mask: boolean): Buffer {
  const p = Buffer.from(text, 'utf8');
  assert.ok(p.length < 126);
  const m = Buffer.from([1, 2, 3, 4]);
  const head = Buffer.from([0x81, (mask ? 0x80 : 0) | p.length]);
  return mask ? Buffer.concat([head, m, p.map((b, i) => b ^ (m[i % 4] as number))]) : Buffer.concat([head, p]);
}
function unframe(b: Buffer): string {
  const len = (b[1] as number) & 0x7f;
  if (((b[1] as number) & 0x80) === 0) return b.subarray(2, 2 + len).toString('utf8');
  const m = b.subarray(2, 6);
  return Buffer.from(b.subarray(6, 6 + len).map((x, i) => x ^ (m[i % 4] as number))).toString('utf8');
}

describe('gateway scenario: WebSocket upgrades', { skip: HAVE_VECTORS ? false : 'needs a collateral vector' }, () => {
  let gw: Gateway;
  let backend: http.Server;
  const upgrades: http.IncomingHttpHeaders[] = [];
  const upgraded: net.Socket[] = [];
  const events: AuditEvent[] = [];
  let certs: ScenarioCerts<'good' | 'impostor'>;

  before(async () => {
    const dir = tempDir();
    certs = scenarioCerts(dir, ['good', 'impostor']);
    backend = http.createServer((_req, res) => res.end('plain'));
    backend.on('upgrade', (req: http.IncomingMessage, sock: net.Socket) => {
      upgrades.push(req.headers);
      upgraded.push(sock);
      sock.on('end', () => sock.end());
      sock.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept(String(req.headers['sec-websocket-key']))}\r\n\r\n`,
      );
      sock.on('data', (c: Buffer) => sock.write(frame(`echo:${unframe(c)}:${req.headers['x-ratls-identity']}`, false)));
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
    const config = writeScenarioConfig(dir, {
      limits: '{ handshakeTimeoutMs: 1500, drainTimeoutMs: 500 }',
      listeners: `  - name: ws
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${(backend.address() as net.AddressInfo).port}", websocket: true }
  - name: nows
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${(backend.address() as net.AddressInfo).port}" }
`,
    });
    gw = await startGateway(
      config,
      scenarioOptions(events, () => scenarioCollateral().now),
    );
  });

  after(async () => {
    await gw?.close();
    // Upgraded sockets are no longer the HTTP server's: close them too.
    for (const s of upgraded) s.destroy();
    backend?.closeAllConnections();
    await new Promise<void>((r) => (backend ? backend.close(() => r()) : r()));
  });

  /** Opens a TLS connection as `who` and sends an upgrade request; resolves with the socket. */
  const open = async (who: 'good' | 'impostor', upgrade: string, extra = '', listener = 'ws') => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port: gw.addresses()[listener]?.port as number,
      cert: readFileSync(certs[who].cert),
      key: readFileSync(certs[who].key),
      rejectUnauthorized: false,
    });
    sock.on('error', () => undefined);
    await new Promise<void>((r, j) => {
      sock.once('secureConnect', () => r());
      sock.once('error', j);
    });
    const key = Buffer.from('0123456789abcdef').toString('base64');
    sock.write(
      `GET /chat HTTP/1.1\r\nHost: a\r\nUpgrade: ${upgrade}\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    );
    return { sock, key };
  };
  const read = (sock: tls.TLSSocket) =>
    new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      const done = () => resolve(Buffer.concat(chunks));
      sock.on('data', (c: Buffer) => {
        chunks.push(c);
        if (Buffer.concat(chunks).includes('\r\n\r\n')) {
          sock.off('close', done);
          resolve(Buffer.concat(chunks));
        }
      });
      sock.once('close', done);
    });

  it("relays an accepted identity's WebSocket both ways, with the gateway's identity headers only", async () => {
    const { sock, key } = await open('good', 'websocket', 'X-Ratls-Identity: admin\r\nx_ratls_tee: nitro\r\n');
    const head = (await read(sock)).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 101 /);
    assert.match(head, new RegExp(`sec-websocket-accept: ${accept(key).replace(/[+/=]/g, '\\$&')}`, 'i'));
    const h = upgrades.at(-1) as http.IncomingHttpHeaders;
    assert.equal(h['x-ratls-identity'], 'payments', 'the client could not choose its identity');
    assert.equal(h['x-ratls-tee'], 'sgx');
    assert.equal(h.x_ratls_tee, undefined);
    assert.equal(h.upgrade, 'websocket');
    sock.write(frame('hello', true));
    const reply = await new Promise<Buffer>((r) => sock.once('data', (c: Buffer) => r(c)));
    assert.equal(unframe(reply), 'echo:hello:payments');
    const ev = events.filter((e) => e.event.action === 'ratls-http-request').at(-1);
    assert.equal(ev?.http?.response?.status_code, 101);
    sock.destroy();
  });

  it('refuses Upgrade: h2c with 501 ERR_HTTP_UPGRADE; the backend never sees it', async () => {
    const seen = upgrades.length;
    const { sock } = await open('good', 'h2c');
    const head = (await read(sock)).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 501 /);
    assert.match(head, /ERR_HTTP_UPGRADE/);
    assert.equal(upgrades.length, seen);
    sock.destroy();
  });

  it('refuses WebSocket on a listener that did not enable it (501 ERR_HTTP_UPGRADE)', async () => {
    const seen = upgrades.length;
    const { sock } = await open('good', 'websocket', '', 'nows');
    const head = (await read(sock)).toString('latin1');
    assert.match(head, /^HTTP\/1\.1 501 /);
    assert.match(head, /ERR_HTTP_UPGRADE/);
    assert.equal(upgrades.length, seen);
    sock.destroy();
  });

  it('refuses an impostor before any upgrade: the handshake is rejected, the backend sees nothing', async () => {
    const seen = upgrades.length;
    const before = events.filter((e) => e.event.action === 'ratls-handshake' && e.event.outcome === 'failure').length;
    const sock = tls.connect({
      host: '127.0.0.1',
      port: gw.addresses().ws?.port as number,
      cert: readFileSync(certs.impostor.cert),
      key: readFileSync(certs.impostor.key),
      rejectUnauthorized: false,
    });
    sock.on('error', () => undefined);
    sock.on('secureConnect', () =>
      sock.write(
        'GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\n\r\n',
      ),
    );
    const got = await read(sock);
    assert.equal(got.length, 0, 'not one byte answered');
    assert.equal(upgrades.length, seen);
    assert.equal(
      events.filter((e) => e.event.action === 'ratls-handshake' && e.event.outcome === 'failure').length,
      before + 1,
    );
  });
});
