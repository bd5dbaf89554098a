/**
 * Channel mode end to end on 127.0.0.1 (issue 13 acceptance): unmodified programs (redis-cli and
 * curl, no TLS) → `ratls client` (simulated SGX enclave, `freshness: channel`) → the real gateway
 * process whose listeners say `freshness: channel` → real redis-server and an HTTP backend. The
 * gateway challenges every client after the handshake; the client answers with fresh evidence
 * bound to that connection's exporter, only after it accepted the gateway. An impostor enclave
 * and a thief holding the client's key and certificate (a plain TLS client that cannot answer)
 * are refused, each with exactly one event in the gateway's audit file.
 */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { initSimulation } from '@ratls/sim';
import {
  decisionsAfter as decisionsAfterIn,
  handshakeDecisions,
  type RedisServer,
  SKIP_WITHOUT_REDIS,
  simulatedPolicy,
  startRedis,
} from '@ratls/test-support/channel-scenario';
import {
  type EchoBackend,
  echoBackend,
  type GatewayProcess,
  run,
  simCert,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { type Client, startClient } from '../client.js';

const CLIENT_M = '11'.repeat(32);
const SERVER_M = '33'.repeat(32);
const IMPOSTOR_M = '44'.repeat(32);
// In CI the binaries must be there (.ci/run installs them): absence fails instead of skipping.
const SKIP = SKIP_WITHOUT_REDIS;
const policy = (name: string, m: string) => simulatedPolicy(name, m);

const clientConfig = (m: string, cachePort: number, apiPort: number) => `version: 1
simulated: { dir: ./sim, mrEnclave: "${m}" }
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./server-policy.yaml
freshness: channel
limits: { handshakeTimeoutMs: 10000, channelTimeoutMs: 10000, drainTimeoutMs: 500 }
listeners:
  - name: redis
    connect: 127.0.0.1:${cachePort}
  - name: api
    connect: 127.0.0.1:${apiPort}
`;

describe('ratls client → gateway in channel mode (simulated enclaves, real processes)', { skip: SKIP }, () => {
  let dir: string;
  let backend: EchoBackend;
  let redis: RedisServer | undefined;
  let gw: GatewayProcess;
  let client: Client;
  let impostor: Client;

  before(async () => {
    dir = tempDir('ratls-client-channel-');
    const sim = join(dir, 'sim');
    await initSimulation(sim);
    await simCert(sim, join(dir, 'gateway'), { mrEnclave: SERVER_M, subject: 'gateway' });
    backend = await echoBackend();
    redis = await startRedis();
    const redisPort = redis.port;
    writeFile(dir, 'gateway-policy.yaml', policy('enclave-client', CLIENT_M));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./gateway-policy.yaml
audit: { file: ./gateway-audit.jsonl }
limits: { handshakeTimeoutMs: 10000, drainTimeoutMs: 1000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./gateway.crt, key: ./gateway.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
    freshness: channel
    channelTimeoutMs: 10000
  - name: cache
    listen: 127.0.0.1:0
    tls: { cert: ./gateway.crt, key: ./gateway.key }
    forward: { tcp: "127.0.0.1:${redisPort}" }
    freshness: channel
    channelTimeoutMs: 10000
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'));
    writeFile(dir, 'server-policy.yaml', policy('kms-gateway', SERVER_M));
    const [cache, api] = [gw.addresses.cache ?? 0, gw.addresses.api ?? 0];
    writeFile(dir, 'client.yaml', clientConfig(CLIENT_M, cache, api));
    const quiet = { watch: false as const, log: () => undefined, auditSink: { callback: () => undefined } };
    client = await startClient(join(dir, 'client.yaml'), quiet);
    // Another genuine simulated enclave, not the one the gateway's policy names.
    mkdirSync(join(dir, 'impostor'));
    writeFile(dir, 'impostor/client.yaml', clientConfig(IMPOSTOR_M, cache, api).replaceAll('./', '../'));
    impostor = await startClient(join(dir, 'impostor/client.yaml'), quiet);
  });

  after(async () => {
    await client?.close();
    await impostor?.close();
    await gw?.stop('SIGKILL');
    redis?.stop();
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const socketOf = (c: Client, name: string): string => {
    const a = c.addresses()[name];
    assert.equal(a?.kind, 'unix');
    return (a as { path: string }).path;
  };
  /** The gateway's handshake decisions so far, from its audit file. */
  const gatewayDecisions = () => handshakeDecisions(join(dir, 'gateway-audit.jsonl'));
  const decisionsAfter = (from: number, n: number) => decisionsAfterIn(gatewayDecisions, from, n);

  it('redis-cli without TLS reaches the real redis-server; the gateway decided each on fresh bound evidence', async () => {
    const n = gatewayDecisions().length;
    const r = await run('redis-cli', ['-s', socketOf(client, 'redis'), 'PING'], { timeoutMs: 20_000 });
    assert.equal(r.stdout.trim(), 'PONG', r.stderr);
    const set = await run('redis-cli', ['-s', socketOf(client, 'redis'), 'SET', 'k', 'bound'], { timeoutMs: 20_000 });
    assert.equal(set.stdout.trim(), 'OK', set.stderr);
    const ev = await decisionsAfter(n, 2);
    assert.equal(ev.length, 2, `one gateway decision per tunnelled connection: ${JSON.stringify(ev)}`);
    for (const e of ev) {
      assert.equal(e.event.outcome, 'success');
      assert.equal(e.attestation?.identity, 'enclave-client');
      assert.equal(e.attestation?.mr_enclave, CLIENT_M);
      assert.equal(e.attestation?.freshness, 'channel', 'the fresh channel-bound evidence decided');
    }
  });

  it('curl without TLS reaches the HTTP backend in channel mode, one decision', async () => {
    const n = gatewayDecisions().length;
    const r = await run('curl', [
      '-sS',
      '--max-time',
      '20',
      '--unix-socket',
      socketOf(client, 'api'),
      'http://app/v1/keys',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/v1/keys');
    assert.equal(seen.headers['x-ratls-identity'], 'enclave-client');
    assert.equal(seen.headers['x-ratls-measurement'], CLIENT_M);
    const ev = await decisionsAfter(n, 1);
    assert.equal(ev.length, 1, JSON.stringify(ev));
    assert.equal(ev[0]?.attestation?.freshness, 'channel');
  });

  it('an impostor enclave (genuine, another measurement) is refused: one audit event, nothing forwarded', async () => {
    const n = gatewayDecisions().length;
    const before = backend.requests.length;
    const t0 = performance.now();
    const r = await run('curl', [
      '-sS',
      '--max-time',
      '20',
      '--unix-socket',
      socketOf(impostor, 'api'),
      'http://app/v1/keys',
    ]);
    assert.notEqual(r.code, 0, 'the tunnel was cut');
    // Cut when the gateway closed on it, not at the client's 10 s channel deadline.
    assert.ok(performance.now() - t0 < 8_000, `refused after ${Math.round(performance.now() - t0)} ms`);
    const ev = await decisionsAfter(n, 1);
    assert.equal(ev.length, 1, JSON.stringify(ev));
    assert.equal(ev[0]?.event.outcome, 'failure');
    assert.equal(ev[0]?.event.reason, 'measurement_mismatch');
    assert.equal(ev[0]?.attestation?.mr_enclave, IMPOSTOR_M);
    assert.equal(backend.requests.length, before, 'nothing reached the backend');
  });

  it('stolen credentials (a plain TLS client with the enclave key and cert) are refused: ERR_CHANNEL_NO_BINDING', async () => {
    const n = gatewayDecisions().length;
    const stolen = client.credentials.secureContextOptions();
    const got = await new Promise<string>((resolve) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: gw.addresses.cache ?? 0,
        ...stolen,
        rejectUnauthorized: false,
        maxVersion: 'TLSv1.3',
      });
      let out = '';
      const t = setTimeout(() => s.destroy(), 20_000);
      s.once('secureConnect', () => s.write('PING\r\n'));
      s.on('data', (c: Buffer) => {
        out += c.toString('latin1');
      });
      s.on('error', () => undefined);
      s.on('close', () => {
        clearTimeout(t);
        resolve(out);
      });
    });
    assert.ok(!got.includes('PONG'), `redis must not answer a thief: ${JSON.stringify(got)}`);
    const ev = await decisionsAfter(n, 1);
    assert.equal(ev.length, 1, JSON.stringify(ev));
    assert.equal(ev[0]?.event.outcome, 'failure');
    assert.equal(ev[0]?.error?.code, 'ERR_CHANNEL_NO_BINDING');
    assert.equal(ev[0]?.attestation?.freshness ?? 'channel', 'channel');
  });
});
