/**
 * The gateway as an attested server (issue 13), real processes on 127.0.0.1: `ratls client`
 * (simulated enclave) whose policy says `freshness: channel` about the gateway → a gateway
 * process with a simulated `attester:` and a `tls: attested` channel listener → real
 * redis-server. The client challenges the gateway and the gateway the client, both answer with
 * evidence bound to this connection. Against a gateway without attester (a static certificate of
 * the same enclave), and against an impostor holding a static copy of the gateway's certificate
 * and key (a plain Node TLS server), the same client refuses before any byte of redis-cli leaves.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { initSimulation } from '@ratls/sim';
import {
  decisionsAfter,
  handshakeDecisions,
  type RedisServer,
  SKIP_WITHOUT_REDIS,
  simulatedPolicy,
  startRedis,
} from '@ratls/test-support/channel-scenario';
import {
  type GatewayProcess,
  run,
  simCert,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import type { AuditEvent } from '@ratls/verifier';
import { type Client, startClient } from '../../client/client.js';

const CLIENT_M = '11'.repeat(32);
const GATEWAY_M = '33'.repeat(32);

const gatewayConfig = (redisPort: number, attested: boolean) => `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./gateway-policy.yaml
audit: { file: ./${attested ? 'attested' : 'static'}-audit.jsonl }
limits: { handshakeTimeoutMs: 10000, drainTimeoutMs: 1000 }
${attested ? `attester:\n  simulated: { dir: ./sim, mrEnclave: "${GATEWAY_M}" }\n  credentials: { validitySeconds: 3600 }\n` : ''}listeners:
  - name: cache
    listen: 127.0.0.1:0
    tls: ${attested ? 'attested' : '{ cert: ./gateway.crt, key: ./gateway.key }'}
    forward: { tcp: "127.0.0.1:${redisPort}" }
    freshness: channel
    channelTimeoutMs: 10000
`;

describe('the gateway as an attested server: ratls client challenges it (channel mode)', {
  skip: SKIP_WITHOUT_REDIS,
}, () => {
  let dir: string;
  let redis: RedisServer | undefined;
  let attestedGw: GatewayProcess;
  let staticGw: GatewayProcess;
  let impostor: tls.Server;
  let client: Client;
  const clientEvents: AuditEvent[] = [];

  before(async () => {
    dir = tempDir('ratls-gw-attested-');
    const sim = join(dir, 'sim');
    await initSimulation(sim);
    redis = await startRedis();
    writeFile(dir, 'gateway-policy.yaml', simulatedPolicy('enclave-client', CLIENT_M));
    writeFile(dir, 'attested.yaml', gatewayConfig(redis.port, true));
    // The same enclave's certificate, as static files: what a gateway without attester presents,
    // and what a thief who copied the gateway's certificate and key holds.
    const stolen = await simCert(sim, join(dir, 'gateway'), { mrEnclave: GATEWAY_M, subject: 'gateway' });
    writeFile(dir, 'static.yaml', gatewayConfig(redis.port, false));
    [attestedGw, staticGw] = await Promise.all([
      spawnGateway(join(dir, 'attested.yaml'), 120_000),
      spawnGateway(join(dir, 'static.yaml'), 120_000),
    ]);
    // The impostor: a plain TLS server with the stolen certificate and key, playing redis.
    const copy = { cert: readFileSync(stolen.cert, 'utf8'), key: readFileSync(stolen.key, 'utf8') };
    impostor = tls.createServer({ ...copy, requestCert: true, rejectUnauthorized: false }, (s) => {
      s.on('data', () => s.write('+PONG\r\n'));
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', r));
    const impostorPort = (impostor.address() as AddressInfo).port;

    writeFile(dir, 'server-policy.yaml', simulatedPolicy('kms-gateway', GATEWAY_M, 'channel'));
    writeFile(dir, 'server-policy-cert.yaml', simulatedPolicy('kms-gateway', GATEWAY_M));
    writeFile(
      dir,
      'client.yaml',
      `version: 1
simulated: { dir: ./sim, mrEnclave: "${CLIENT_M}" }
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./server-policy.yaml
freshness: channel
limits: { handshakeTimeoutMs: 10000, channelTimeoutMs: 10000, drainTimeoutMs: 500 }
listeners:
  - name: attested
    connect: 127.0.0.1:${attestedGw.addresses.cache ?? 0}
  - name: static
    connect: 127.0.0.1:${staticGw.addresses.cache ?? 0}
  - name: stolen
    connect: 127.0.0.1:${impostorPort}
  - name: stolencert
    connect: 127.0.0.1:${impostorPort}
    policy: ./server-policy-cert.yaml
    freshness: certificate
`,
    );
    client = await startClient(join(dir, 'client.yaml'), {
      watch: false,
      log: () => undefined,
      auditSink: { callback: (e) => clientEvents.push(e) },
    });
  });

  after(async () => {
    await client?.close();
    await Promise.all([attestedGw?.stop('SIGKILL'), staticGw?.stop('SIGKILL')]);
    await new Promise<void>((r) => (impostor ? impostor.close(() => r()) : r()));
    redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const socketOf = (name: string): string => {
    const a = client.addresses()[name];
    assert.equal(a?.kind, 'unix');
    return (a as { path: string }).path;
  };
  const clientDecisions = () => clientEvents.filter((e) => e.event.action === 'ratls-handshake');
  const ping = (listener: string) => run('redis-cli', ['-s', socketOf(listener), 'PING'], { timeoutMs: 20_000 });

  it('redis-cli reaches redis through a gateway with a simulated attester: both sides decided on channel evidence', async () => {
    const gwFile = join(dir, 'attested-audit.jsonl');
    const [nc, ng] = [clientDecisions().length, handshakeDecisions(gwFile).length];
    const r = await ping('attested');
    assert.equal(
      r.stdout.trim(),
      'PONG',
      `${r.stderr} client: ${JSON.stringify(clientDecisions().slice(nc))} gateway: ${JSON.stringify(handshakeDecisions(gwFile).slice(ng))}`,
    );
    const gw = await decisionsAfter(() => handshakeDecisions(gwFile), ng, 1);
    assert.equal(gw.length, 1, `one gateway decision: ${JSON.stringify(gw)}`);
    assert.equal(gw[0]?.event.outcome, 'success');
    assert.equal(gw[0]?.attestation?.identity, 'enclave-client');
    assert.equal(gw[0]?.attestation?.freshness, 'channel', 'the gateway decided on the client’s fresh evidence');
    const cl = await decisionsAfter(clientDecisions, nc, 1);
    assert.equal(cl.length, 1, `one client decision: ${JSON.stringify(cl)}`);
    assert.equal(cl[0]?.event.outcome, 'success');
    assert.equal(cl[0]?.attestation?.identity, 'kms-gateway');
    assert.equal(cl[0]?.attestation?.mr_enclave, GATEWAY_M);
    assert.equal(cl[0]?.attestation?.freshness, 'channel', 'the client decided on the gateway’s fresh evidence');
  });

  it('the same client against a gateway without attester is refused; the gateway audits ERR_CHANNEL_UNSUPPORTED', async () => {
    const gwFile = join(dir, 'static-audit.jsonl');
    const [nc, ng] = [clientDecisions().length, handshakeDecisions(gwFile).length];
    const r = await ping('static');
    assert.notEqual(r.stdout.trim(), 'PONG', 'nothing reached redis');
    // The gateway cannot answer the client's challenge (no quote provider) and says why in its audit.
    const gw = await decisionsAfter(() => handshakeDecisions(gwFile), ng, 1);
    assert.equal(gw.length, 1, JSON.stringify(gw));
    assert.equal(gw[0]?.event.outcome, 'failure');
    assert.equal(gw[0]?.error?.code, 'ERR_CHANNEL_UNSUPPORTED', JSON.stringify(gw[0]));
    // The framing has no refusal message: the client sees the gateway close before its channel
    // hello, and refuses on that (never a fallback to the certificate's evidence).
    const cl = await decisionsAfter(clientDecisions, nc, 1);
    assert.equal(cl.length, 1, JSON.stringify(cl));
    assert.equal(cl[0]?.event.outcome, 'failure');
    assert.equal(cl[0]?.error?.code, 'ERR_TLS_CLOSED_BEFORE_DECISION', JSON.stringify(cl[0]));
    assert.equal(cl[0]?.attestation?.freshness, 'channel');
  });

  it('stolen gateway credentials served by an impostor: accepted in certificate mode, refused in channel mode', async () => {
    // Certificate mode cannot tell a thief from the gateway (docs/concepts.md): the TLS handshake
    // and the certificate's evidence both check out.
    const accepted = await ping('stolencert');
    assert.equal(accepted.stdout.trim(), 'PONG', `certificate mode reaches the impostor: ${accepted.stderr}`);
    const nc = clientDecisions().length;
    const r = await ping('stolen');
    assert.notEqual(r.stdout.trim(), 'PONG', 'channel mode: nothing went to the impostor');
    const cl = await decisionsAfter(clientDecisions, nc, 1);
    assert.equal(cl.length, 1, JSON.stringify(cl));
    assert.equal(cl[0]?.event.outcome, 'failure');
    assert.equal(cl[0]?.error?.code, 'ERR_CHANNEL_NO_BINDING', JSON.stringify(cl[0]));
    assert.equal(cl[0]?.attestation?.freshness ?? 'channel', 'channel');
  });
});
