/**
 * End-to-end, black-box (ghostunnel style): the real gateway process, simulated RA-TLS client
 * certificates, the real verification path, and real clients (curl, openssl s_client,
 * redis-cli against a redis-server started here).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  adminToken,
  type EchoBackend,
  ENTRY,
  echoBackend,
  freePort,
  type GatewayProcess,
  haveBinary,
  run,
  simulatedFleet,
  simulatorPolicy,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';

const GOOD = '11'.repeat(32);
const IMPOSTOR = '22'.repeat(32);
const HAVE_REDIS = haveBinary('redis-server') && haveBinary('redis-cli');
const SKIP_REDIS = HAVE_REDIS ? false : 'redis-server/redis-cli not installed';

interface AuditLine {
  event: { action: string; reason: string; outcome: string };
  error?: { code: string };
  labels?: { listener?: string };
  attestation?: { identity?: string; mr_enclave?: string };
}

describe('gateway end-to-end (spawned process, simulated TEE)', {
  skip: haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let dir: string;
  let backend: EchoBackend;
  let redis: ChildProcess | undefined;
  let redisPort = 0;
  let gw: GatewayProcess;
  let c: Record<'good' | 'impostor' | 'debug', { cert: string; key: string }>;
  let policyPath: string;
  let auditPath: string;

  before(async () => {
    dir = tempDir('ratls-gw-e2e-');
    // The gateway's own certificate is an RA-TLS certificate too (clients here skip checking it).
    ({ certs: c } = await simulatedFleet(
      dir,
      { good: { mrEnclave: GOOD }, impostor: { mrEnclave: IMPOSTOR }, debug: { mrEnclave: GOOD, debug: true } },
      { mrEnclave: GOOD },
    ));
    backend = await echoBackend();
    if (HAVE_REDIS) {
      redisPort = await freePort();
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
    }
    policyPath = writeFile(dir, 'policy.yaml', simulatorPolicy('payments', [GOOD]));
    auditPath = join(dir, 'audit.jsonl');
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
admin: 127.0.0.1:0
adminAuth: { tokenFile: ${adminToken(dir).tokenFile} }
limits: { handshakeTimeoutMs: 5000, drainTimeoutMs: 2000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
  - name: cache
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "127.0.0.1:${redisPort || 1}" }
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'));
  });

  after(async () => {
    await gw?.stop('SIGKILL');
    redis?.kill('SIGKILL');
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const audit = (): AuditLine[] =>
    readFileSync(auditPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine);
  const handshakes = () => audit().filter((e) => e.event.action === 'ratls-handshake');
  const curl = (who: 'good' | 'impostor' | 'debug' | null, path: string, extra: string[] = []) =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      ...(who ? ['--cert', c[who].cert, '--key', c[who].key] : []),
      ...extra,
      `https://127.0.0.1:${gw.addresses.api}${path}`,
    ]);
  const admin = (path: string) =>
    fetch(`http://127.0.0.1:${gw.addresses.admin}${path}`, { headers: adminToken(dir).headers });

  it('prints a ready line naming every listener and the admin port', () => {
    assert.match(gw.ready, /^ratls gateway ready: api=127\.0\.0\.1:\d+ cache=127\.0\.0\.1:\d+ admin=127\.0\.0\.1:\d+$/);
  });

  it('curl with the allowed enclave gets the backend answer and trustworthy identity headers', async () => {
    const n = handshakes().length;
    const r = await curl('good', '/v1/secret', ['-H', 'x-ratls-identity: admin', '-H', 'X-Ratls-Measurement: 00']);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as { url: string; headers: Record<string, string> };
    assert.equal(seen.url, '/v1/secret');
    assert.equal(seen.headers['x-ratls-identity'], 'payments');
    assert.equal(seen.headers['x-ratls-tee'], 'sgx');
    assert.equal(seen.headers['x-ratls-measurement'], GOOD);
    assert.equal(seen.headers['x-ratls-tcb-status'], 'UpToDate');
    const ev = handshakes().slice(n);
    assert.equal(ev.length, 1);
    assert.equal(ev[0]?.event.outcome, 'success');
    assert.equal(ev[0]?.attestation?.identity, 'payments');
  });

  it('impostor, debug and no-certificate attempts fail, one audit event each, backend untouched', async () => {
    const n = handshakes().length;
    const hits = backend.requests.length;
    for (const who of ['impostor', 'debug', null] as const) {
      const r = await curl(who, '/v1/secret');
      assert.notEqual(r.code, 0, `${who} got through: ${r.stdout}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(backend.requests.length, hits);
    const ev = handshakes().slice(n);
    assert.deepEqual(
      ev.map((e) => e.event.reason),
      ['measurement_mismatch', 'debug_not_allowed', 'verification_failed'],
    );
    assert.equal(ev[0]?.attestation?.mr_enclave, IMPOSTOR);
  });

  it('openssl s_client without a certificate is refused', {
    skip: haveBinary('openssl') ? false : 'no openssl',
  }, async () => {
    const hits = backend.requests.length;
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${gw.addresses.api}`, '-quiet'], {
      input: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    });
    assert.doesNotMatch(r.stdout, /HTTP\/1\.1/);
    assert.equal(backend.requests.length, hits);
  });

  const redisPing = (who: 'good' | 'impostor') =>
    run(
      'redis-cli',
      [
        '--tls',
        '--insecure',
        '--cert',
        c[who].cert,
        '--key',
        c[who].key,
        '-h',
        '127.0.0.1',
        '-p',
        String(gw.addresses.cache),
        'PING',
      ],
      {
        timeoutMs: 10_000,
      },
    );

  it('redis-cli through a tcp listener: PONG for the allowed enclave, nothing for the impostor', {
    skip: SKIP_REDIS,
  }, async () => {
    const ok = await redisPing('good');
    assert.equal(ok.stdout.trim(), 'PONG', ok.stderr);
    const bad = await redisPing('impostor');
    assert.notEqual(bad.stdout.trim(), 'PONG');
  });

  it('SIGHUP applies a policy admitting the impostor; a broken policy is refused and the old one keeps working', async () => {
    const hash = async () =>
      /ratls_policy_info\{hash="([0-9a-f]{64})"\} 1/.exec(await (await admin('/metrics')).text())?.[1];
    const h0 = await hash();
    assert.ok(h0);
    writeFileSync(policyPath, simulatorPolicy('payments', [GOOD, IMPOSTOR]));
    gw.child.kill('SIGHUP');
    let h1 = h0;
    for (let i = 0; i < 50 && h1 === h0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      h1 = (await hash()) ?? h0;
    }
    assert.notEqual(h1, h0, 'policy hash changed after SIGHUP');
    const r = await curl('impostor', '/after-reload');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers['x-ratls-measurement'],
      IMPOSTOR,
    );

    const failedBefore = audit().filter((e) => e.event.reason === 'reload_failed').length;
    writeFileSync(policyPath, 'version: 1\nidentities:\n  - name: broken\n    sgx: { mrEnclave: "not-hex" }\n');
    gw.child.kill('SIGHUP');
    for (let i = 0; i < 50 && audit().filter((e) => e.event.reason === 'reload_failed').length === failedBefore; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      audit().filter((e) => e.event.reason === 'reload_failed').length > failedBefore,
      'reload failure audited',
    );
    assert.equal(await hash(), h1, 'metrics still show the policy in force');
    assert.equal((await curl('impostor', '/still')).code, 0, 'old policy keeps working');
    const m = await (await admin('/metrics')).text();
    assert.match(m, /ratls_reloads_total\{result="failed"\} [1-9]/);
    assert.match(m, /ratls_handshakes_total\{listener="api",result="accept"\} [1-9]/);
    assert.match(
      m,
      /ratls_attestation_rejections_total\{listener="api",tee="sgx",reason="measurement_mismatch"\} [1-9]/,
    );
    const h = await admin('/healthz');
    assert.equal(h.status, 200);
    assert.equal(((await h.json()) as { status: string }).status, 'ok');
  });

  it('SIGTERM drains and exits 0', async () => {
    const code = await gw.stop('SIGTERM');
    assert.equal(code, 0);
  });
});

describe('gateway process startup failures', () => {
  it('exits 2 naming file, line and column for an invalid config, and never prints the ready line', async () => {
    const dir = tempDir('ratls-gw-bad-');
    try {
      const cfg = writeFile(
        dir,
        'gateway.yaml',
        'version: 1\ntrust: { collateral: ./c.json }\npolicy: ./p.yaml\nlisteners:\n  - name: api\n    listen: nowhere\n',
      );
      const r = spawnSync(process.execPath, ['--conditions=development', '--import', 'tsx', ENTRY, '--config', cfg], {
        encoding: 'utf8',
        timeout: 40_000,
      });
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /ERR_GATEWAY_CONFIG: .*gateway\.yaml:6:13: listeners\[0\]\.listen: expected host:port/);
      assert.doesNotMatch(r.stderr, /ready/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
