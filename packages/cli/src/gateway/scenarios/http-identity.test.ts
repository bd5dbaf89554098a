/**
 * In-process gateway tests with real clients (curl, openssl, Node TLS) and a stand-in certificate
 * verifier (`dangerousVerify`): the verifier maps a client certificate's CN to an SGX result, and
 * the real policy, audit, forwarding, metrics, limits and reload code run on top of it.
 * End-to-end tests with the TEE simulator and the spawned gateway live in e2e.test.ts.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  type EchoBackend,
  echoBackend,
  haveBinary,
  opensslCert,
  run,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { idleFlood } from '@ratls/test-support/idle-flood';
// A verified-looking result stands in for appraisal here; the verifier's test kit makes it.
import { fakeSgxResult } from '@ratls/test-support/tls-testkit';
import { HAVE_VECTORS, vectorPath } from '@ratls/test-support/vectors';
import { type AuditEvent, collateralFacts, collateralFromJson } from '@ratls/verifier';
import type { CertificateVerify } from './appraiser.js';
import { type Gateway, startGateway } from './gateway.js';
import {
  PP2_SIGNATURE,
  PP2_TYPE_RATLS_IDENTITY,
  PP2_TYPE_RATLS_MEASUREMENT,
  PP2_TYPE_RATLS_TCB_STATUS,
  PP2_TYPE_RATLS_TEE,
  PP2_TYPE_SSL,
} from './proxy-protocol.js';

const GOOD = 'aa'.repeat(32);
const IMPOSTOR = 'cc'.repeat(32);
const COLLATERAL = 'dcap-cases/auto_sgx_2025-08.collateral.json';

/** CN → result: good, impostor, debug; anything else fails verification. */
const fakeVerify: CertificateVerify = async (der) => {
  const x = new X509Certificate(Buffer.from(der));
  const cn = /CN=([^\n,]+)/.exec(x.subject)?.[1];
  const result =
    cn === 'good'
      ? fakeSgxResult(GOOD)
      : cn === 'impostor'
        ? fakeSgxResult(IMPOSTOR)
        : cn === 'debug'
          ? fakeSgxResult(GOOD, undefined, true)
          : undefined;
  if (!result) throw Object.assign(new Error('no evidence'), { code: 'ERR_FAKE_NO_EVIDENCE' });
  return {
    result,
    certificate: {
      fingerprintSha256: x.fingerprint256.replace(/:/g, '').toLowerCase(),
      notBefore: 0,
      notAfter: 4_102_444_800,
      subject: x.subject,
      formats: ['tcg-dice'],
    },
    binding: { formats: ['tcg-dice'] },
  };
};

const policyText = (allowed: string[]) =>
  `version: 1\ndefaults:\n  simulated: true\nidentities:\n  - name: payments\n    sgx: { mrEnclave: [${allowed.map((m) => `"${m}"`).join(', ')}] }\n`;

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

describe('gateway (in-process, stand-in verifier)', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let dir: string;
  let backend: EchoBackend;
  let tcpBackend: net.Server;
  const proxySeen: ProxySeen[] = [];
  let gw: Gateway;
  let now = 0;
  const events: AuditEvent[] = [];
  let certs: Record<'server' | 'good' | 'impostor' | 'debug', { cert: string; key: string }>;
  let nextUpdateMs = 0;
  let policyPath: string;

  before(async () => {
    dir = tempDir();
    certs = {
      server: opensslCert(dir, 'server', '127.0.0.1'),
      good: opensslCert(dir, 'good'),
      impostor: opensslCert(dir, 'impostor'),
      debug: opensslCert(dir, 'debug'),
    };
    backend = await echoBackend();
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
    const collateral = vectorPath(COLLATERAL);
    nextUpdateMs = collateralFacts(collateralFromJson(readFileSync(collateral, 'utf8'))).nextUpdate;
    now = nextUpdateMs - 86_400_000;
    policyPath = writeFile(dir, 'policy.yaml', policyText([GOOD]));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  collateral: ${collateral}
policy: ./policy.yaml
admin: 127.0.0.1:0
limits: { handshakeTimeoutMs: 1500, drainTimeoutMs: 1000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}/base" }
  - name: cache
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "127.0.0.1:${(tcpBackend.address() as net.AddressInfo).port}", proxyProtocol: true }
`,
    );
    gw = await startGateway(join(dir, 'gateway.yaml'), {
      clock: () => now,
      auditSink: { callback: (e) => events.push(e) },
      dangerousVerify: fakeVerify,
      watch: false,
      log: () => undefined,
    });
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
    await new Promise<void>((r) => (tcpBackend ? tcpBackend.close(() => r()) : r()));
  });

  const url = (path: string) => `https://127.0.0.1:${gw.addresses().api?.port}${path}`;
  const curl = (who: 'good' | 'impostor' | 'debug' | null, path: string, extra: string[] = []) =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      ...(who ? ['--cert', certs[who].cert, '--key', certs[who].key] : []),
      ...extra,
      url(path),
    ]);
  const handshakes = () => events.filter((e) => e.event.action === 'ratls-handshake');

  it('forwards an accepted client with identity headers and strips spoofed x-ratls-*', {
    skip: !haveBinary('curl'),
  }, async () => {
    const before = handshakes().length;
    const r = await curl('good', '/hello?x=1', [
      '-H',
      'x-ratls-identity: admin',
      '-H',
      'X-RATLS-TEE: nitro',
      '-H',
      'X-Ratls-Identity: root',
      '-H',
      'x-forwarded-for: 1.2.3.4',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as EchoBackend['requests'][number];
    assert.equal(seen.url, '/base/hello?x=1');
    assert.equal(seen.headers['x-ratls-identity'], 'payments');
    assert.equal(seen.headers['x-ratls-tee'], 'sgx');
    assert.equal(seen.headers['x-ratls-measurement'], GOOD);
    assert.equal(seen.headers['x-ratls-tcb-status'], 'UpToDate');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    const ratls = seen.rawHeaders.filter((_, i) => i % 2 === 0).filter((n) => n.toLowerCase().startsWith('x-ratls-'));
    assert.deepEqual(ratls.sort(), ['x-ratls-identity', 'x-ratls-measurement', 'x-ratls-tcb-status', 'x-ratls-tee']);
    assert.equal(handshakes().length, before + 1);
    assert.equal(handshakes().at(-1)?.event.outcome, 'success');
  });

  it('refuses impostor, debug and certificate-less clients; one audit event each; backend untouched', {
    skip: !haveBinary('curl'),
  }, async () => {
    const hits = backend.requests.length;
    const before = handshakes().length;
    for (const who of ['impostor', 'debug', null] as const) {
      const r = await curl(who, '/secret', ['-d', 'payload']);
      assert.notEqual(r.code, 0, `${who} got through: ${r.stdout}`);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(backend.requests.length, hits);
    const ev = handshakes().slice(before);
    assert.equal(ev.length, 3);
    assert.deepEqual(
      ev.map((e) => e.event.reason),
      ['measurement_mismatch', 'debug_not_allowed', 'verification_failed'],
    );
    assert.equal(ev[2]?.error?.code, 'ERR_TLS_NO_PEER_CERTIFICATE');
  });

  it('openssl s_client without a certificate gets nothing through', { skip: !haveBinary('openssl') }, async () => {
    const hits = backend.requests.length;
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${gw.addresses().api?.port}`, '-quiet'], {
      input: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    });
    assert.doesNotMatch(r.stdout, /HTTP\/1\.1 200/);
    assert.equal(backend.requests.length, hits);
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

  it('counts a handshake timeout as a limit hit and audits it', async () => {
    const before = handshakes().length;
    const raw = net.connect(gw.addresses().api?.port as number, '127.0.0.1');
    await new Promise<void>((r) => raw.once('close', () => r()));
    const text = await gw.metrics.registry.metrics();
    assert.match(text, /ratls_limit_hits_total\{listener="api",limit="handshake_timeout"\} 1/);
    assert.equal(handshakes().slice(before).at(-1)?.error?.code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
  });

  it('serves /metrics with bounded labels and /healthz that turns 503 past nextUpdate', async () => {
    const admin = `http://127.0.0.1:${gw.addresses().admin?.port}`;
    const m = await (await fetch(`${admin}/metrics`)).text();
    assert.match(m, /ratls_handshakes_total\{listener="api",result="accept"\} 1/);
    assert.match(m, /ratls_attestation_rejections_total\{listener="api",tee="sgx",reason="measurement_mismatch"\} 1/);
    assert.match(m, /ratls_verification_duration_seconds_count\{listener="api"\} \d+/);
    assert.match(m, /ratls_collateral_next_update_timestamp_seconds\{fmspc="[0-9a-f]{12}"\} \d+/);
    assert.match(m, /ratls_build_info\{version="0\.1\.0"\} 1/);
    assert.match(m, /ratls_policy_info\{hash="[0-9a-f]{64}"\} 1/);
    assert.match(m, /ratls_active_connections/);
    assert.doesNotMatch(m, new RegExp(GOOD), 'no measurement in labels');
    assert.doesNotMatch(m, /127\.0\.0\.1/, 'no address in labels');
    const ok = await fetch(`${admin}/healthz`);
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { status: string }).status, 'ok');
    now = nextUpdateMs + 1000;
    try {
      const bad = await fetch(`${admin}/healthz`);
      assert.equal(bad.status, 503);
      const body = (await bad.json()) as { status: string; reasons: string[] };
      assert.equal(body.status, 'unhealthy');
      assert.match(body.reasons.join(' '), /past its nextUpdate/);
    } finally {
      now = nextUpdateMs - 86_400_000;
    }
  });

  it('reload: a policy admitting the impostor applies; a broken policy is refused and the old one stays', {
    skip: !haveBinary('curl'),
  }, async () => {
    const hashOf = async () =>
      /ratls_policy_info\{hash="([0-9a-f]{64})"\} 1/.exec(await gw.metrics.registry.metrics())?.[1];
    const h0 = await hashOf();
    assert.notEqual((await curl('impostor', '/')).code, 0);
    writeFileSync(policyPath, policyText([GOOD, IMPOSTOR]));
    const ok = await gw.reload();
    assert.equal(ok.ok, true);
    const h1 = await hashOf();
    assert.notEqual(h1, h0);
    const r = await curl('impostor', '/');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers['x-ratls-measurement'],
      IMPOSTOR,
    );
    writeFileSync(policyPath, 'version: 1\nidentities:\n  - name: broken\n    sgx: { mrEnclave: "zz" }\n');
    const bad = await gw.reload();
    assert.equal(bad.ok, false);
    assert.equal(await hashOf(), h1);
    assert.equal((await curl('impostor', '/')).code, 0, 'old policy still in force');
    const reloads = events.filter((e) => e.event.action === 'policy-reload');
    assert.deepEqual(
      reloads.map((e) => e.event.reason),
      ['reloaded', 'reload_failed'],
    );
    assert.match(await gw.metrics.registry.metrics(), /ratls_reloads_total\{result="failed"\} 1/);
  });
});

describe('gateway limits (in-process, stand-in verifier)', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let dir: string;
  let gw: Gateway;
  let tcpBackend: net.Server;
  const events: AuditEvent[] = [];
  const held: net.Socket[] = [];
  let good: { cert: string; key: string };
  let big: { cert: string; key: string };

  before(async () => {
    dir = tempDir();
    opensslCert(dir, 'server', '127.0.0.1');
    good = opensslCert(dir, 'good');
    // Same CN (the stand-in would accept it), but a certificate above maxCertificateBytes.
    big = opensslCert(
      dir,
      'big',
      'good',
      Array.from({ length: 40 }, (_, i) => `host-${i}.padding.example.internal`),
    );
    tcpBackend = net.createServer((s) => {
      held.push(s);
      s.on('data', (c: Buffer) => s.write(c));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => tcpBackend.listen(0, '127.0.0.1', () => r()));
    const collateral = vectorPath(COLLATERAL);
    const now = collateralFacts(collateralFromJson(readFileSync(collateral, 'utf8'))).nextUpdate - 86_400_000;
    writeFile(dir, 'policy.yaml', policyText([GOOD]));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust: { collateral: ${collateral} }
policy: ./policy.yaml
limits: { maxConnections: 1, idleTimeoutMs: 400, maxCertificateBytes: 1024, drainTimeoutMs: 500 }
listeners:
  - name: echo
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "127.0.0.1:${(tcpBackend.address() as net.AddressInfo).port}" }
`,
    );
    gw = await startGateway(join(dir, 'gateway.yaml'), {
      clock: () => now,
      auditSink: { callback: (e) => events.push(e) },
      dangerousVerify: fakeVerify,
      watch: false,
      log: () => undefined,
    });
  });

  after(async () => {
    for (const s of held) s.destroy();
    await gw?.close();
    await new Promise<void>((r) => (tcpBackend ? tcpBackend.close(() => r()) : r()));
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
  /** Metrics are updated on the gateway's side of a close, which may land just after the client's. */
  const metric = async (re: RegExp) => {
    for (let i = 0; i < 20; i++) {
      if (re.test(await gw.metrics.registry.metrics())) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  };
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

describe('gateway certificate hot reload (file watch) and graceful drain', {
  skip: !HAVE_VECTORS ? 'needs a collateral vector' : haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let dir: string;
  let gw: Gateway;
  let slow: http.Server;
  const events: AuditEvent[] = [];
  let good: { cert: string; key: string };

  before(async () => {
    dir = tempDir();
    opensslCert(dir, 'server', 'first');
    good = opensslCert(dir, 'good');
    slow = http.createServer((_req, res) => {
      setTimeout(() => res.end('slow-done'), 600);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    const collateral = vectorPath(COLLATERAL);
    const now = collateralFacts(collateralFromJson(readFileSync(collateral, 'utf8'))).nextUpdate - 86_400_000;
    writeFile(dir, 'policy.yaml', policyText([GOOD]));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust: { collateral: ${collateral} }
policy: ./policy.yaml
limits: { drainTimeoutMs: 5000 }
listeners:
  - { name: web, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${(slow.address() as net.AddressInfo).port}" } }
`,
    );
    gw = await startGateway(join(dir, 'gateway.yaml'), {
      clock: () => now,
      auditSink: { callback: (e) => events.push(e) },
      dangerousVerify: fakeVerify,
      watch: { debounceMs: 50 },
      log: () => undefined,
    });
  });

  after(async () => {
    await gw?.close();
    slow?.closeAllConnections();
    await new Promise<void>((r) => (slow ? slow.close(() => r()) : r()));
  });

  const serverCn = async (port: number) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      cert: readFileSync(good.cert),
      key: readFileSync(good.key),
      rejectUnauthorized: false,
    });
    await new Promise<void>((r, j) => {
      s.once('secureConnect', () => r());
      s.once('error', j);
    });
    const cn = s.getPeerX509Certificate()?.subject;
    s.destroy();
    return cn;
  };

  it('serves a replaced certificate to new handshakes without SIGHUP', async () => {
    const port = gw.addresses().web?.port as number;
    assert.match((await serverCn(port)) ?? '', /CN=first/);
    opensslCert(dir, 'server', 'second');
    let cn: string | undefined;
    for (let i = 0; i < 60; i++) {
      cn = await serverCn(port);
      if (cn?.includes('CN=second')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(cn ?? '', /CN=second/);
    assert.ok(events.some((e) => e.event.action === 'policy-reload' && e.event.outcome === 'success'));
  });

  it('close() lets an in-flight request finish, then refuses new connections', async () => {
    const port = gw.addresses().web?.port as number;
    const inflight = run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      '--cert',
      good.cert,
      '--key',
      good.key,
      `https://127.0.0.1:${port}/slow`,
    ]);
    await new Promise((r) => setTimeout(r, 300));
    const closing = gw.close();
    const r = await inflight;
    assert.equal(r.stdout, 'slow-done', r.stderr);
    await closing;
    const after = await run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '5',
      '--cert',
      good.cert,
      '--key',
      good.key,
      `https://127.0.0.1:${port}/`,
    ]);
    assert.notEqual(after.code, 0);
  });
});

describe('gateway pre-TLS limits (finding 7, in-process, stand-in verifier)', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let dir: string;
  let gw: Gateway;
  let tcpBackend: net.Server;
  const events: AuditEvent[] = [];
  let good: { cert: string; key: string };

  before(async () => {
    dir = tempDir();
    opensslCert(dir, 'server', '127.0.0.1');
    good = opensslCert(dir, 'good');
    tcpBackend = net.createServer((s) => {
      s.on('data', (c: Buffer) => s.write(c));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => tcpBackend.listen(0, '127.0.0.1', () => r()));
    const collateral = vectorPath(COLLATERAL);
    const now = collateralFacts(collateralFromJson(readFileSync(collateral, 'utf8'))).nextUpdate - 86_400_000;
    const backend = `127.0.0.1:${(tcpBackend.address() as net.AddressInfo).port}`;
    writeFile(dir, 'policy.yaml', policyText([GOOD]));
    // Gateway-wide: the defaults (32 waiting per source); `hello` sets its own first-byte deadline.
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust: { collateral: ${collateral} }
policy: ./policy.yaml
limits: { clientHelloTimeoutMs: 10000, drainTimeoutMs: 500 }
listeners:
  - name: echo
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "${backend}" }
  - name: hello
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "${backend}" }
    limits: { clientHelloTimeoutMs: 200, maxPendingPerSource: 4 }
`,
    );
    gw = await startGateway(join(dir, 'gateway.yaml'), {
      clock: () => now,
      auditSink: { callback: (e) => events.push(e) },
      dangerousVerify: fakeVerify,
      watch: false,
      log: () => undefined,
    });
  });

  after(async () => {
    await gw?.close();
    await new Promise<void>((r) => (tcpBackend ? tcpBackend.close(() => r()) : r()));
  });

  const metric = async (re: RegExp, tries = 40) => {
    for (let i = 0; i < tries; i++) {
      if (re.test(await gw.metrics.registry.metrics())) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  };
  const codes = (code: string) => events.filter((e) => e.error?.code === code).length;
  const raw = (listener: string, from = '127.0.0.1') => {
    const s = net.connect({ host: '127.0.0.1', port: gw.addresses()[listener]?.port as number, localAddress: from });
    s.on('error', () => undefined);
    s.resume();
    return s;
  };
  const closed = (s: net.Socket) => new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));

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
