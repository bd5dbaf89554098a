/**
 * `ratls client` end to end on 127.0.0.1: unmodified programs (redis-cli and curl, no TLS) →
 * `ratls client` (simulated SGX enclave, UNIX sockets by default) → the real gateway process
 * (mutual: it appraises the client's credentials) → real redis-server and an HTTP backend. The
 * client appraises the gateway's RA-TLS certificate against its own trust and policy; an
 * impostor server (a valid simulated enclave of another measurement) is refused with one audit
 * event and none of the program's bytes reach it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { initSimulation } from '@ratls/sim';
import {
  type EchoBackend,
  echoBackend,
  freePort,
  type GatewayProcess,
  haveBinary,
  opensslCert,
  run,
  simCert,
  simulatorPolicy,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import type { AuditEvent } from '@ratls/verifier';
import { type Client, startClient } from '../client.js';

const CLIENT_M = '11'.repeat(32);
const SERVER_M = '33'.repeat(32);
const IMPOSTOR_M = '44'.repeat(32);
const HAVE = haveBinary('redis-server') && haveBinary('redis-cli') && haveBinary('curl');
// In CI the binaries must be there (.ci/run installs them): absence fails instead of skipping.
const SKIP = HAVE || process.env.CI ? false : 'redis-server, redis-cli or curl not installed';

describe('ratls client → gateway (simulated enclaves, real processes)', { skip: SKIP }, () => {
  let dir: string;
  let backend: EchoBackend;
  let redis: ChildProcess | undefined;
  let gw: GatewayProcess;
  let impostor: tls.Server;
  let plain: tls.Server;
  const impostorBytes: Buffer[] = [];
  let client: Client;
  const events: AuditEvent[] = [];

  before(async () => {
    dir = tempDir('ratls-client-');
    const sim = join(dir, 'sim');
    await initSimulation(sim);
    await simCert(sim, join(dir, 'gateway'), { mrEnclave: SERVER_M, subject: 'gateway' });
    const fake = await simCert(sim, join(dir, 'impostor'), { mrEnclave: IMPOSTOR_M, subject: 'impostor' });
    backend = await echoBackend();
    const redisPort = await freePort();
    redis = spawn(
      'redis-server',
      ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    for (let i = 0; i < 50; i++) {
      if ((await run('redis-cli', ['-p', String(redisPort), 'PING'])).stdout.includes('PONG')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    writeFile(dir, 'gateway-policy.yaml', simulatorPolicy('enclave-client', [CLIENT_M]));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./gateway-policy.yaml
audit: { file: ./gateway-audit.jsonl }
limits: { handshakeTimeoutMs: 5000, drainTimeoutMs: 1000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./gateway.crt, key: ./gateway.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
  - name: cache
    listen: 127.0.0.1:0
    tls: { cert: ./gateway.crt, key: ./gateway.key }
    forward: { tcp: "127.0.0.1:${redisPort}" }
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'));
    // A genuine simulated enclave, but not the one the client's policy names: it holds its own key.
    impostor = tls.createServer(
      { cert: readFileSync(fake.cert), key: readFileSync(fake.key), requestCert: true },
      (s) => {
        s.on('data', (c: Buffer) => impostorBytes.push(c));
        s.on('error', () => undefined);
      },
    );
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
    const impostorPort = (impostor.address() as net.AddressInfo).port;

    // A TLS echo server with an ordinary self-signed certificate: no evidence at all.
    const web = opensslCert(dir, 'plain', '127.0.0.1');
    opensslCert(dir, 'other-ca', 'another CA');
    plain = tls.createServer({ cert: readFileSync(web.cert), key: readFileSync(web.key) }, (s) => {
      s.on('data', (c: Buffer) => s.write(c));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', () => r()));
    const plainPort = (plain.address() as net.AddressInfo).port;

    writeFile(dir, 'server-policy.yaml', simulatorPolicy('kms-gateway', [SERVER_M]));
    writeFile(
      dir,
      'client.yaml',
      `version: 1
simulated: { dir: ./sim, mrEnclave: "${CLIENT_M}" }
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./server-policy.yaml
limits: { handshakeTimeoutMs: 5000, drainTimeoutMs: 500 }
listeners:
  - name: redis
    connect: 127.0.0.1:${gw.addresses.cache}
  - name: api
    connect: 127.0.0.1:${gw.addresses.api}
  - name: fake
    connect: 127.0.0.1:${impostorPort}
  - name: plain
    connect: 127.0.0.1:${plainPort}
  - name: webpki
    connect: 127.0.0.1:${plainPort}
    ca: ./plain.crt
  - name: webpki-other
    connect: 127.0.0.1:${plainPort}
    ca: ./other-ca.crt
`,
    );
    client = await startClient(join(dir, 'client.yaml'), {
      auditSink: { callback: (e) => events.push(e) },
      watch: false,
      log: () => undefined,
    });
  });

  after(async () => {
    await client?.close();
    await gw?.stop('SIGKILL');
    redis?.kill('SIGKILL');
    await backend?.close();
    await new Promise<void>((r) => (impostor ? impostor.close(() => r()) : r()));
    await new Promise<void>((r) => (plain ? plain.close(() => r()) : r()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const socketOf = (name: string): string => {
    const a = client.addresses()[name];
    assert.equal(a?.kind, 'unix', `${name} listens on a UNIX socket by default under SGX`);
    return (a as { path: string }).path;
  };
  const handshakes = () => events.filter((e) => e.event.action === 'ratls-handshake');

  it('listens on UNIX sockets beside the configuration by default (simulated SGX: loopback is the host)', () => {
    assert.equal(socketOf('redis'), join(dir, 'redis.sock'));
    assert.equal(socketOf('api'), join(dir, 'api.sock'));
    // Only this user's programs may speak as the enclave through it.
    assert.equal(statSync(socketOf('redis')).mode & 0o777, 0o600);
  });

  it('redis-cli without TLS reaches the real redis-server through the client and the gateway', async () => {
    const n = handshakes().length;
    const r = await run('redis-cli', ['-s', socketOf('redis'), 'PING'], { timeoutMs: 15_000 });
    assert.equal(r.stdout.trim(), 'PONG', r.stderr);
    const set = await run('redis-cli', ['-s', socketOf('redis'), 'SET', 'k', 'tunnelled'], { timeoutMs: 15_000 });
    assert.equal(set.stdout.trim(), 'OK', set.stderr);
    const get = await run('redis-cli', ['-s', socketOf('redis'), 'GET', 'k'], { timeoutMs: 15_000 });
    assert.equal(get.stdout.trim(), 'tunnelled');
    const ev = handshakes().slice(n);
    assert.equal(ev.length, 3, 'one decision on the server per tunnelled connection');
    for (const e of ev) {
      assert.equal(e.event.outcome, 'success');
      assert.equal(e.attestation?.identity, 'kms-gateway');
      assert.equal(e.attestation?.mr_enclave, SERVER_M);
    }
  });

  it('curl without TLS reaches the HTTP backend, and the gateway saw the client enclave', async () => {
    const r = await run('curl', ['-sS', '--max-time', '10', '--unix-socket', socketOf('api'), 'http://app/v1/keys']);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/v1/keys');
    // The gateway appraised the client's self-renewing simulated credentials and named them.
    assert.equal(seen.headers['x-ratls-identity'], 'enclave-client');
    assert.equal(seen.headers['x-ratls-measurement'], CLIENT_M);
  });

  it('an impostor server (valid enclave, wrong measurement) is refused: one audit event, no byte sent', async () => {
    const n = handshakes().length;
    const r = await run('redis-cli', ['-s', socketOf('fake'), 'PING'], { timeoutMs: 15_000 });
    assert.notEqual(r.stdout.trim(), 'PONG');
    await new Promise((res) => setTimeout(res, 200));
    const ev = handshakes().slice(n);
    assert.equal(ev.length, 1, JSON.stringify(ev));
    assert.equal(ev[0]?.event.outcome, 'failure');
    assert.equal(ev[0]?.event.reason, 'measurement_mismatch');
    assert.equal(ev[0]?.attestation?.mr_enclave, IMPOSTOR_M);
    assert.equal(Buffer.concat(impostorBytes).length, 0, 'the program wrote PING, but none of it reached the impostor');
    assert.match(
      await client.metrics.registry.metrics(),
      /ratls_attestation_rejections_total\{listener="fake",tee="sgx",reason="measurement_mismatch"\} 1/,
    );
  });

  /**
   * Writes `text` to a UNIX socket and collects the answer: ends once the echo is complete, and
   * resolves when the socket closes (at once when the tunnel refused); 10 s bound for a loaded machine.
   */
  const exchange = (path: string, text: string) =>
    new Promise<string>((resolve) => {
      const s = net.connect(path);
      let got = '';
      const t = setTimeout(() => s.destroy(), 10_000);
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

  it('a TLS server without evidence is refused under a policy (verification_failed), one audit event', async () => {
    const n = handshakes().length;
    assert.equal(await exchange(socketOf('plain'), 'hello'), '');
    const ev = handshakes().slice(n);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]?.event.reason, 'verification_failed');
  });

  it('the same server is admitted only where a CA is configured explicitly for it (ca:), audited as such', async () => {
    const n = events.length;
    assert.equal(await exchange(socketOf('webpki'), 'hello'), 'hello');
    const ev = events.slice(n);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]?.event.action, 'ratls-ca-handshake');
    assert.equal(ev[0]?.event.outcome, 'success');
  });

  it('a server whose certificate the configured CA did not sign is refused: ERR_CLIENT_UPSTREAM, audited', async () => {
    const n = events.length;
    assert.equal(await exchange(socketOf('webpki-other'), 'hello'), '');
    const ev = events.slice(n);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]?.event.outcome, 'failure');
    assert.equal(ev[0]?.error?.code, 'ERR_CLIENT_UPSTREAM');
  });
});
