/**
 * `ratls client` lifecycle: the loopback rule at start (a spawned process under a simulated
 * Gramine/SGX provider refuses TCP; a simulated TDX guest listens on it), the ready line, admin
 * endpoints, SIGTERM, reload (policy edit applies to the next connection; a bad edit changes
 * nothing) and self-renewing credentials (new key for new connections).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { initSimulation } from '@ratls/sim';
import { adminToken, logMessage, simCert, tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import { CLI_ENTRY, REPO_ROOT, spawnCli } from '@ratls/test-support/run-cli';
import type { AuditEvent } from '@ratls/verifier';
import { type Client, startClient } from '../client.js';

const SERVER_M = '55'.repeat(32);
const OTHER_M = '66'.repeat(32);
const policy = (m: string) =>
  `version: 1\ndefaults:\n  simulated: true\nidentities:\n  - name: server\n    sgx: { mrEnclave: ["${m}"] }\n`;

describe('ratls client lifecycle (simulated TEEs)', () => {
  let dir: string;
  let server: tls.Server;
  let serverPort = 0;
  /** SHA-256 fingerprints of the client certificates the server saw, in order. */
  const seenClientCerts: string[] = [];

  before(async () => {
    dir = tempDir('ratls-client-life-');
    await initSimulation(join(dir, 'sim'));
    const s = await simCert(join(dir, 'sim'), join(dir, 'server'), { mrEnclave: SERVER_M });
    // An attested echo server that records the client certificate of each connection.
    server = tls.createServer(
      { cert: readFileSync(s.cert), key: readFileSync(s.key), requestCert: true, rejectUnauthorized: false },
      (sock) => {
        const c = sock.getPeerX509Certificate();
        if (c) seenClientCerts.push(c.fingerprint256);
        sock.on('data', (d: Buffer) => sock.write(d));
        sock.on('error', () => undefined);
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    serverPort = (server.address() as net.AddressInfo).port;
    writeFile(dir, 'policy.yaml', policy(SERVER_M));
  });

  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const clientYaml = (name: string, o: { tee?: string; listen?: string; admin?: boolean; credentials?: string }) =>
    writeFile(
      dir,
      name,
      `version: 1
simulated: { dir: ./sim${o.tee ? `, tee: ${o.tee}` : ''} }
${o.credentials ?? ''}${o.admin ? `admin: 127.0.0.1:0\nadminAuth: { tokenFile: ${adminToken(dir).tokenFile} }\n` : ''}trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
limits: { handshakeTimeoutMs: 5000, drainTimeoutMs: 300 }
listeners:
  - name: echo
    connect: 127.0.0.1:${serverPort}
${o.listen ? `    listen: ${o.listen}\n` : ''}`,
    );

  /** Sends `text` through a local address and returns the echo (empty when the tunnel refused). */
  const echo = (to: { path: string } | { host: string; port: number }, text: string) =>
    new Promise<string>((resolve) => {
      const s = net.connect(to as net.NetConnectOpts);
      let got = '';
      const t = setTimeout(() => s.destroy(), 5_000);
      s.on('data', (c: Buffer) => {
        got += c.toString('utf8');
        if (got.length >= text.length) s.end();
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        clearTimeout(t);
        resolve(got);
      });
      s.write(text);
    });

  it('a spawned client under a simulated SGX (Gramine) provider refuses loopback TCP: exit 2, ERR_CLIENT_HOST_LOOPBACK', async () => {
    const cfg = clientYaml('sgx-tcp.yaml', { listen: '127.0.0.1:0' });
    const r = await spawnCli(['client', '--config', cfg], { timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /ERR_CLIENT_HOST_LOOPBACK: .*sgx-tcp\.yaml:\d+:\d+: listeners\[0\]\.listen/);
    assert.doesNotMatch(r.stderr, /ready/);
  });

  it('a spawned client in a simulated TDX guest listens on loopback TCP, serves admin, tunnels, and exits 0 on SIGTERM', async () => {
    const cfg = clientYaml('tdx-tcp.yaml', { tee: 'tdx', listen: '127.0.0.1:0', admin: true });
    const child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', CLI_ENTRY, 'client', '--config', cfg],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    try {
      let err = '';
      const ready = await new Promise<string>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no ready line:\n${err}`)), 60_000);
        child.stderr?.on('data', (c: Buffer) => {
          err += c.toString('utf8');
          const m = logMessage(err, /^ratls client ready: /);
          if (m) {
            clearTimeout(t);
            resolve(m);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}:\n${err}`)));
      });
      const m = /echo=127\.0\.0\.1:(\d+) admin=127\.0\.0\.1:(\d+)$/.exec(ready);
      assert.ok(m, ready);
      assert.equal(await echo({ host: '127.0.0.1', port: Number(m[1]) }, 'through the TD'), 'through the TD');
      const health = await fetch(`http://127.0.0.1:${m[2]}/healthz`, { headers: adminToken(dir).headers });
      assert.equal(health.status, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${m[2]}/metrics`)).text();
      assert.match(metrics, /ratls_handshakes_total\{listener="echo",result="accept"\} 1/);
      assert.match(metrics, /ratls_client_credentials_not_after_timestamp_seconds \d+/);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('a policy file change is picked up by the file watch without a signal', async () => {
    const cfg = clientYaml('watch.yaml', {});
    const c = await startClient(cfg, {
      watch: { debounceMs: 50 },
      log: () => undefined,
      auditSink: { callback: () => {} },
    });
    try {
      const to = { path: (c.addresses().echo as { path: string }).path };
      assert.equal(await echo(to, 'before'), 'before');
      writeFile(dir, 'policy.yaml', policy(OTHER_M));
      let refused = false;
      // Debounce 50 ms plus the watcher's own latency; bounded generously for a loaded machine.
      for (let i = 0; i < 100 && !refused; i++) {
        await new Promise((r) => setTimeout(r, 100));
        refused = /ratls_reloads_total\{result="ok"\} [1-9]/.test(await c.metrics.registry.metrics());
      }
      assert.ok(refused, 'reloaded on the file change');
      assert.equal(await echo(to, 'after'), '', 'the new policy refuses the server');
    } finally {
      writeFile(dir, 'policy.yaml', policy(SERVER_M));
      await c.close();
    }
  });

  describe('in process', () => {
    let client: Client;
    const events: AuditEvent[] = [];
    let cfg: string;
    before(async () => {
      cfg = clientYaml('reload.yaml', { credentials: 'credentials: { validitySeconds: 4 }\n' });
      client = await startClient(cfg, {
        auditSink: { callback: (e) => events.push(e) },
        watch: false,
        log: () => undefined,
      });
    });
    after(async () => {
      await client.close();
      writeFile(dir, 'policy.yaml', policy(SERVER_M));
    });
    const sock = () => ({ path: (client.addresses().echo as { path: string }).path });

    it('a policy edit applies to the next connection after reload; a bad edit is refused and changes nothing', async () => {
      assert.equal(await echo(sock(), 'one'), 'one');
      writeFile(dir, 'policy.yaml', policy(OTHER_M));
      const r = await client.reload();
      assert.equal(r.ok, true);
      assert.equal(await echo(sock(), 'two'), '', 'the server no longer matches the policy in force');
      const last = events.filter((e) => e.event.action === 'ratls-handshake').at(-1);
      assert.equal(last?.event.reason, 'measurement_mismatch');

      writeFile(dir, 'policy.yaml', policy(SERVER_M));
      assert.equal((await client.reload()).ok, true);
      writeFile(
        dir,
        'reload.yaml',
        readFileSync(cfg, 'utf8').replace('policy: ./policy.yaml', 'policy: ./policy.yaml\nbogus: 1'),
      );
      const bad = await client.reload();
      assert.equal(bad.ok, false);
      assert.equal(!bad.ok && bad.error.code, 'ERR_CLIENT_CONFIG');
      assert.equal(await echo(sock(), 'three'), 'three', 'the previous configuration stays in force');
      writeFile(dir, 'reload.yaml', readFileSync(cfg, 'utf8').replace('\nbogus: 1', ''));
    });

    it('credentials renew themselves: new connections present a new certificate', async () => {
      const before = client.credentials.cert;
      const n = seenClientCerts.length;
      assert.equal(await echo(sock(), 'a'), 'a');
      const first = seenClientCerts[n];
      assert.equal(first, new X509Certificate(before).fingerprint256);
      // 4 s lifetime, renewed a quarter before expiry: within ~3 s; bounded generously.
      for (let i = 0; i < 100 && client.credentials.cert === before; i++) await new Promise((r) => setTimeout(r, 100));
      assert.notEqual(client.credentials.cert, before, 'renewed');
      assert.equal(await echo(sock(), 'b'), 'b');
      assert.equal(seenClientCerts.at(-1), new X509Certificate(client.credentials.cert).fingerprint256);
      assert.notEqual(seenClientCerts.at(-1), first);
    });
  });
});
