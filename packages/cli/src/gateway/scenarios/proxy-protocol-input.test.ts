/**
 * PROXY protocol v2 input: a listener behind a balancer at 127.0.0.1 (`proxyProtocol.from`).
 * The balancer's relayed client address reaches the audit, the HTTP identity headers and a TCP
 * backend's own PROXY header; a header from an address that is not a balancer (127.0.0.2) is
 * refused with ERR_PROXY_UNTRUSTED_SOURCE while that address may still speak TLS directly; the
 * balancer must send a header (ERR_PROXY_SIGNATURE without one), may send LOCAL, and a stalled
 * header ends at the first-byte deadline.
 * In-process gateway, stand-in certificate verifier; real sockets (127.0.0.2 is loopback on Linux).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  type EchoBackend,
  echoBackend,
  type ScenarioCerts,
  scenarioCerts,
  scenarioCollateral,
  scenarioOptions,
  tempDir,
  writeScenarioConfig,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { decodeProxyV2, encodeProxyV2 } from '../forward/proxy-protocol.js';
import { type Gateway, startGateway } from '../index.js';

const CLIENT = { srcIp: '203.0.113.9', srcPort: 50123, dstIp: '198.51.100.1', dstPort: 443 };

describe('gateway scenario: PROXY v2 input from a balancer', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let gw: Gateway;
  let http: EchoBackend;
  let tcpBackend: net.Server;
  const backendSaw: string[] = [];
  const events: AuditEvent[] = [];
  let certs: ScenarioCerts<'good'>;

  before(async () => {
    const dir = tempDir();
    certs = scenarioCerts(dir, ['good']);
    http = await echoBackend();
    // A TCP backend that reads the gateway's own PROXY v2 header (the same decoder) and echoes.
    tcpBackend = net.createServer((s) => {
      let buf = Buffer.alloc(0);
      let seen = false;
      s.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (!seen) {
          const d = decodeProxyV2(buf);
          if (d.kind !== 'header') return;
          seen = true;
          if (d.header.command === 'proxy') backendSaw.push(`${d.header.src.ip}:${d.header.src.port}`);
          buf = buf.subarray(d.consumed);
        }
        if (buf.length) s.write(buf);
        buf = Buffer.alloc(0);
      });
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => tcpBackend.listen(0, '127.0.0.1', () => r()));
    const own = '    proxyProtocol: { from: [127.0.0.1/32] }\n    limits: { clientHelloTimeoutMs: 400 }\n';
    const config = writeScenarioConfig(dir, {
      limits: '{ handshakeTimeoutMs: 2000, drainTimeoutMs: 500 }',
      listeners: `  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${http.port}" }
${own}  - name: cache
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "127.0.0.1:${(tcpBackend.address() as net.AddressInfo).port}", proxyProtocol: true }
${own}`,
    });
    gw = await startGateway(
      config,
      scenarioOptions(events, () => scenarioCollateral().now),
    );
  });

  after(async () => {
    await gw?.close();
    await http?.close();
    await new Promise<void>((r) => (tcpBackend ? tcpBackend.close(() => r()) : r()));
  });

  /** TCP from `from`, then `preface` (a PROXY header or nothing), then TLS as the good client. */
  const connect = async (listener: string, from: string, preface?: Buffer) => {
    const raw = net.connect({ host: '127.0.0.1', port: gw.addresses()[listener]?.port as number, localAddress: from });
    raw.on('error', () => undefined);
    await new Promise<void>((r, j) => {
      raw.once('connect', () => r());
      raw.once('error', j);
    });
    if (preface) raw.write(preface);
    const sock = tls.connect({
      socket: raw,
      cert: readFileSync(certs.good.cert),
      key: readFileSync(certs.good.key),
      rejectUnauthorized: false,
    });
    sock.on('error', () => undefined);
    const ok = await new Promise<boolean>((r) => {
      sock.once('secureConnect', () => r(true));
      sock.once('close', () => r(false));
    });
    return { sock, ok, raw };
  };
  const handshakes = () => events.filter((e) => e.event.action === 'ratls-handshake');
  const codes = (code: string) => events.filter((e) => e.error?.code === code).length;
  const waitFor = async (pred: () => boolean) => {
    for (let i = 0; i < 100 && !pred(); i++) await new Promise((r) => setTimeout(r, 20));
    return pred();
  };

  it('audits and forwards the relayed client address (TCP backend PROXY header)', async () => {
    const { sock, ok } = await connect('cache', '127.0.0.1', encodeProxyV2(CLIENT, undefined));
    assert.ok(ok);
    sock.write('PING');
    const got = await new Promise<string>((r) => sock.once('data', (c: Buffer) => r(c.toString())));
    assert.equal(got, 'PING');
    assert.equal(backendSaw.at(-1), '203.0.113.9:50123', 'the backend learns the original client');
    const ev = handshakes().at(-1);
    assert.equal(ev?.event.outcome, 'success');
    assert.equal(ev?.source?.ip, '203.0.113.9');
    assert.equal(ev?.source?.port, 50123);
    sock.destroy();
  });

  it('sets x-forwarded-for to the relayed client on HTTP, whatever the client wrote', async () => {
    const { sock, ok } = await connect('api', '127.0.0.1', encodeProxyV2(CLIENT, undefined));
    assert.ok(ok);
    sock.write('GET /who HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 10.9.9.9\r\nConnection: close\r\n\r\n');
    let text = '';
    sock.on('data', (c: Buffer) => {
      text += c.toString();
    });
    await new Promise<void>((r) => sock.once('close', () => r()));
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.equal(http.requests.at(-1)?.headers['x-forwarded-for'], '203.0.113.9');
    const req = events.filter((e) => e.event.action === 'ratls-http-request').at(-1);
    assert.equal(req?.source?.ip, '203.0.113.9');
  });

  it('refuses a PROXY header from an address that is not a balancer: ERR_PROXY_UNTRUSTED_SOURCE', async () => {
    const before = codes('ERR_PROXY_UNTRUSTED_SOURCE');
    const { ok } = await connect('cache', '127.0.0.2', encodeProxyV2(CLIENT, undefined));
    assert.equal(ok, false);
    assert.ok(await waitFor(() => codes('ERR_PROXY_UNTRUSTED_SOURCE') === before + 1));
    assert.equal(handshakes().at(-1)?.source?.ip, '127.0.0.2', 'audited as who really connected');
  });

  it('lets that address speak TLS directly, audited as itself', async () => {
    const { sock, ok } = await connect('cache', '127.0.0.2');
    assert.ok(ok);
    assert.equal(handshakes().at(-1)?.source?.ip, '127.0.0.2');
    sock.destroy();
  });

  it('requires the header from the balancer (ERR_PROXY_SIGNATURE) and accepts LOCAL as the balancer', async () => {
    const before = codes('ERR_PROXY_SIGNATURE');
    const bare = await connect('cache', '127.0.0.1');
    assert.equal(bare.ok, false);
    assert.ok(await waitFor(() => codes('ERR_PROXY_SIGNATURE') === before + 1));
    const local = Buffer.from(encodeProxyV2({}, undefined));
    local[12] = 0x20;
    const l = await connect('cache', '127.0.0.1', local);
    assert.ok(l.ok, 'LOCAL (a health check) continues to TLS');
    assert.equal(handshakes().at(-1)?.source?.ip, '127.0.0.1');
    l.sock.destroy();
  });

  it('ends a stalled header at the first-byte deadline (ERR_TLS_CLIENT_HELLO_TIMEOUT)', async () => {
    const before = codes('ERR_TLS_CLIENT_HELLO_TIMEOUT');
    const raw = net.connect({ host: '127.0.0.1', port: gw.addresses().cache?.port as number });
    raw.on('error', () => undefined);
    raw.write(encodeProxyV2(CLIENT, undefined).subarray(0, 20));
    await new Promise<void>((r) => raw.once('close', () => r()));
    assert.ok(await waitFor(() => codes('ERR_TLS_CLIENT_HELLO_TIMEOUT') === before + 1));
  });
});
