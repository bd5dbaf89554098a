/**
 * The cluster process model, black-box: the real gateway process with `workers: 2`, simulated
 * RA-TLS client certificates, the real verification path, curl as the client. Each curl is one
 * connection, which the primary hands to the workers in turn (round-robin).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  echoBackend,
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

interface AuditLine {
  event: { action: string; reason: string; outcome: string };
  process?: { pid: number };
}

describe('gateway with workers: 2 (spawned process, simulated TEE)', {
  skip: haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let dir: string;
  let backend: EchoBackend;
  let gw: GatewayProcess;
  let c: Record<'good' | 'impostor', { cert: string; key: string }>;
  let policyPath: string;
  let auditPath: string;

  before(async () => {
    dir = tempDir('ratls-gw-workers-');
    ({ certs: c } = await simulatedFleet(
      dir,
      { good: { mrEnclave: GOOD }, impostor: { mrEnclave: IMPOSTOR } },
      { mrEnclave: GOOD },
    ));
    backend = await echoBackend();
    policyPath = writeFile(dir, 'policy.yaml', simulatorPolicy('payments', [GOOD]));
    auditPath = join(dir, 'audit.jsonl');
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
workers: 2
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
admin: 127.0.0.1:0
limits: { handshakeTimeoutMs: 5000, drainTimeoutMs: 2000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'), 60_000);
  });

  after(async () => {
    await gw?.stop('SIGKILL');
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const handshakes = (): AuditLine[] =>
    readFileSync(auditPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditLine)
      .filter((e) => e.event.action === 'ratls-handshake');
  const curl = (who: 'good' | 'impostor', path: string) =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      '--cert',
      c[who].cert,
      '--key',
      c[who].key,
      `https://127.0.0.1:${gw.addresses.api}${path}`,
    ]);
  const metrics = async () => (await fetch(`http://127.0.0.1:${gw.addresses.admin}/metrics`)).text();
  const counter = (m: string, result: string) =>
    Number(new RegExp(`ratls_handshakes_total\\{listener="api",result="${result}"\\} (\\d+)`).exec(m)?.[1] ?? 0);
  const waitFor = async (cond: () => boolean | Promise<boolean>, what: string) => {
    for (let i = 0; i < 100; i++) {
      if (await cond()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(`timed out waiting for ${what}`);
  };

  it('both workers serve; exactly one audit event per attempt, stamped with the worker pid', async () => {
    const n = handshakes().length;
    for (let i = 0; i < 6; i++) assert.equal((await curl('good', `/w${i}`)).code, 0);
    for (let i = 0; i < 4; i++) assert.notEqual((await curl('impostor', `/x${i}`)).code, 0);
    await waitFor(() => handshakes().length >= n + 10, '10 audit events');
    await new Promise((r) => setTimeout(r, 300));
    const ev = handshakes().slice(n);
    assert.equal(ev.length, 10, 'N attempts, N events');
    assert.equal(ev.filter((e) => e.event.outcome === 'success').length, 6);
    const pids = new Set(ev.map((e) => e.process?.pid));
    assert.equal(pids.size, 2, `served by two workers: ${[...pids].join(',')}`);
    assert.ok(!pids.has(gw.child.pid), 'the primary serves no connection');
  });

  it("the primary's accept queue is as deep as maxConnections, not Node's 511", async (t) => {
    // A fleet reconnecting at once overflows a 511-deep queue; the client retries an overflowed
    // SYN only after 1, 3, 7… s. Linux `ss -lnt` shows a listener's backlog as Send-Q.
    if (!haveBinary('ss')) {
      assert.ok(!process.env.CI, 'ss (iproute2) is missing in CI');
      t.skip('ss (iproute2) not installed');
      return;
    }
    const r = await run('ss', ['-Hlnt', `sport = :${gw.addresses.api}`]);
    const sendQ = Number(r.stdout.trim().split(/\s+/)[2]);
    const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    // limits.maxConnections defaults to 1024 (config.ts); the kernel caps the backlog at somaxconn.
    assert.equal(sendQ, Math.min(1024, somaxconn), r.stdout);
  });

  it('the workers build no TLS session tickets (NumTickets = 0), so no connection can resume', {
    skip: haveBinary('openssl') ? false : 'openssl not installed',
  }, async () => {
    // Node's TLS server otherwise sends two TLS 1.3 tickets per full handshake (cluster.ts,
    // NO_TICKETS_OPENSSL_CONF). openssl s_client -msg prints every handshake message it gets
    // (a Node client's 'session' event does not fire here: it reads the response first and closes).
    // Four connections reach both workers (round-robin).
    for (let i = 0; i < 4; i++) {
      const r = await run('sh', [
        '-c',
        `printf 'GET /t${i} HTTP/1.1\\r\\nhost: x\\r\\nconnection: close\\r\\n\\r\\n' | ` +
          `timeout 10 openssl s_client -connect 127.0.0.1:${gw.addresses.api} -cert ${c.good.cert} -key ${c.good.key} -msg -ign_eof 2>&1`,
      ]);
      assert.match(r.stdout, /HTTP\/1\.1 200/, `connection ${i} was served`);
      assert.doesNotMatch(r.stdout, /NewSessionTicket/, `connection ${i}: a session ticket was sent`);
    }
  });

  it('/metrics sums the counts over the workers', async () => {
    const before = await metrics();
    const acc = counter(before, 'accept');
    const rej = counter(before, 'reject');
    for (let i = 0; i < 4; i++) assert.equal((await curl('good', `/m${i}`)).code, 0);
    assert.notEqual((await curl('impostor', '/m')).code, 0);
    const m = await metrics();
    assert.equal(counter(m, 'accept'), acc + 4);
    assert.equal(counter(m, 'reject'), rej + 1);
    assert.equal(counter(m, 'accept'), handshakes().filter((e) => e.event.outcome === 'success').length);
  });

  it('SIGHUP reaches every worker: after the reload every connection applies the new policy', async () => {
    writeFileSync(policyPath, simulatorPolicy('payments', [GOOD, IMPOSTOR]));
    gw.child.kill('SIGHUP');
    await waitFor(async () => /ratls_reloads_total\{result="ok"\} [1-9]/.test(await metrics()), 'the reload');
    const n = handshakes().length;
    for (let i = 0; i < 6; i++) assert.equal((await curl('impostor', `/r${i}`)).code, 0, `connection ${i}`);
    await waitFor(() => handshakes().length >= n + 6, 'audit events');
    assert.equal(
      new Set(
        handshakes()
          .slice(n)
          .map((e) => e.process?.pid),
      ).size,
      2,
    );
    // The file watcher may reload too: one event per attempt, written by the primary, not per worker.
    const attempts = Number(/ratls_reloads_total\{result="ok"\} (\d+)/.exec(await metrics())?.[1]);
    const reloads = readFileSync(auditPath, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"reloaded"'));
    assert.equal(reloads.length, attempts, 'one reload event per attempt, from the primary');
  });

  it('a killed worker is replaced and service continues on two workers', async () => {
    const n = handshakes().length;
    for (let i = 0; i < 2; i++) assert.equal((await curl('good', `/k${i}`)).code, 0);
    await waitFor(() => handshakes().length >= n + 2, 'audit events');
    const victim = handshakes().at(-1)?.process?.pid as number;
    process.kill(victim, 'SIGKILL');
    await waitFor(() => /worker exited; restarting/.test(gw.stderr()), 'the crash log');
    for (let i = 0; i < 300 && !/worker restarted/.test(gw.stderr()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.match(gw.stderr(), /worker restarted/);
    const m = handshakes().length;
    for (let i = 0; i < 6; i++) assert.equal((await curl('good', `/after${i}`)).code, 0, `connection ${i}`);
    await waitFor(() => handshakes().length >= m + 6, 'audit events');
    const pids = new Set(
      handshakes()
        .slice(m)
        .map((e) => e.process?.pid),
    );
    assert.equal(pids.size, 2);
    assert.ok(!pids.has(victim));
  });

  it('SIGTERM drains every worker and the primary exits 0 with every event written', async () => {
    const n = handshakes().length;
    assert.equal((await curl('good', '/last')).code, 0);
    assert.equal(await gw.stop('SIGTERM'), 0);
    assert.equal(handshakes().length, n + 1);
  });
});
