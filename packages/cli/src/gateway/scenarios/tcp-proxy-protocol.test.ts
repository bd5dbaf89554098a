/**
 * TCP forwarding with PROXY protocol v2: an accepted client's bytes reach the backend after a
 * PROXY v2 header carrying its address and the attestation TLVs (identity, TEE, measurement, TCB
 * status, and the SSL TLV saying a verified client certificate was presented).
 * In-process gateway, stand-in certificate verifier (@ratls/test-support/gateway-helpers), real
 * policy, audit, forwarding and metrics; a Node TLS client.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  GOOD,
  type ScenarioCerts,
  scenarioCerts,
  scenarioCollateral,
  scenarioOptions,
  tempDir,
  writeScenarioConfig,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import {
  PP2_SIGNATURE,
  PP2_TYPE_RATLS_IDENTITY,
  PP2_TYPE_RATLS_MEASUREMENT,
  PP2_TYPE_RATLS_TCB_STATUS,
  PP2_TYPE_RATLS_TEE,
  PP2_TYPE_SSL,
} from '../forward/proxy-protocol.js';
import { type Gateway, startGateway } from '../index.js';

interface ProxySeen {
  header: Buffer;
  family: number;
  src: string;
  srcPort: number;
  tlvs: Map<number, Buffer>;
  payload: string;
}

/** A tiny PROXY v2 parser: signature, version/command, family, addresses, TLVs. */
function parseProxyV2(buf: Buffer): { seen: Omit<ProxySeen, 'payload'>; rest: Buffer } | undefined {
  if (buf.length < 16) return undefined;
  assert.ok(buf.subarray(0, 12).equals(PP2_SIGNATURE), 'PROXY v2 signature');
  assert.equal(buf[12], 0x21, 'version 2, PROXY command');
  const len = buf.readUInt16BE(14);
  if (buf.length < 16 + len) return undefined;
  const family = buf[13] as number;
  let off = 16;
  let src = '';
  let srcPort = 0;
  if (family === 0x11) {
    src = [...buf.subarray(off, off + 4)].join('.');
    srcPort = buf.readUInt16BE(off + 8);
    off += 12;
  } else if (family === 0x21) {
    src = 'v6';
    srcPort = buf.readUInt16BE(off + 32);
    off += 36;
  }
  const tlvs = new Map<number, Buffer>();
  while (off < 16 + len) {
    const type = buf[off] as number;
    const l = buf.readUInt16BE(off + 1);
    tlvs.set(type, buf.subarray(off + 3, off + 3 + l));
    off += 3 + l;
  }
  assert.equal(off, 16 + len, 'TLVs fill the header exactly');
  return { seen: { header: buf.subarray(0, 16 + len), family, src, srcPort, tlvs }, rest: buf.subarray(16 + len) };
}

describe('gateway scenario: TCP forwarding with PROXY v2 identity', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let tcpBackend: net.Server;
  const proxySeen: ProxySeen[] = [];
  let gw: Gateway;
  const events: AuditEvent[] = [];
  let certs: ScenarioCerts<'good'>;

  before(async () => {
    const dir = tempDir();
    certs = scenarioCerts(dir, ['good']);
    // A backend that reads the PROXY v2 header, then echoes the payload.
    tcpBackend = net.createServer((sock) => {
      let buf: Buffer = Buffer.alloc(0);
      let parsed: ReturnType<typeof parseProxyV2>;
      sock.on('data', (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (!parsed) {
          parsed = parseProxyV2(buf);
          if (!parsed) return;
          proxySeen.push({ ...parsed.seen, payload: '' });
          buf = parsed.rest;
        }
        if (buf.length) {
          (proxySeen.at(-1) as ProxySeen).payload += buf.toString('utf8');
          sock.write(`echo:${buf.toString('utf8')}`);
          buf = Buffer.alloc(0);
        }
      });
      sock.on('error', () => undefined);
    });
    await new Promise<void>((r) => tcpBackend.listen(0, '127.0.0.1', () => r()));
    const config = writeScenarioConfig(dir, {
      limits: '{ handshakeTimeoutMs: 1500, drainTimeoutMs: 1000 }',
      listeners: `  - name: cache
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "127.0.0.1:${(tcpBackend.address() as net.AddressInfo).port}", proxyProtocol: true }
`,
    });
    gw = await startGateway(
      config,
      scenarioOptions(events, () => scenarioCollateral().now),
    );
  });

  after(async () => {
    await gw?.close();
    await new Promise<void>((r) => (tcpBackend ? tcpBackend.close(() => r()) : r()));
  });

  it('tcp forwarding prepends a PROXY v2 header with the attestation TLVs', async () => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port: gw.addresses().cache?.port as number,
      cert: readFileSync(certs.good.cert),
      key: readFileSync(certs.good.key),
      rejectUnauthorized: false,
    });
    await new Promise<void>((r, j) => {
      sock.once('secureConnect', () => r());
      sock.once('error', j);
    });
    const localPort = sock.localPort;
    sock.write('PING');
    const answer = await new Promise<string>((r) => sock.once('data', (c: Buffer) => r(c.toString('utf8'))));
    sock.destroy();
    assert.equal(answer, 'echo:PING');
    const p = proxySeen.at(-1) as ProxySeen;
    assert.equal(p.family, 0x11);
    assert.equal(p.src, '127.0.0.1');
    assert.equal(p.srcPort, localPort);
    assert.equal(p.tlvs.get(PP2_TYPE_RATLS_IDENTITY)?.toString(), 'payments');
    assert.equal(p.tlvs.get(PP2_TYPE_RATLS_TEE)?.toString(), 'sgx');
    assert.equal(p.tlvs.get(PP2_TYPE_RATLS_MEASUREMENT)?.toString(), GOOD);
    assert.equal(p.tlvs.get(PP2_TYPE_RATLS_TCB_STATUS)?.toString(), 'UpToDate');
    const ssl = p.tlvs.get(PP2_TYPE_SSL) as Buffer;
    assert.equal((ssl[0] as number) & 0x03, 0x03, 'PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN');
    assert.equal(ssl.readUInt32BE(1), 0, 'verify = 0 (success)');
    assert.equal(ssl.subarray(5, 6)[0], 0x21, 'PP2_SUBTYPE_SSL_VERSION');
  });
});
