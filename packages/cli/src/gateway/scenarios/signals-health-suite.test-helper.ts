/**
 * Issue 16, the gateway at runtime, black-box: the real gateway process with the simulator's
 * root. Each finding has its test here: SIGUSR1 never opens the inspector, SIGUSR2 and SIGHUP
 * reopen a rotated audit file, connection-close events carry bytes and duration, handshake events
 * carry `destination.*`, the simulated anchor is announced loudly (log and metric), /livez,
 * /readyz per listener (and its backend), /healthz behind the bearer token, Host checked.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  echoBackend,
  type GatewayProcess,
  haveBinary,
  run,
  simulatedFleet,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';

const GOOD = '11'.repeat(32);
const TOKEN = 'admin-token-for-tests-0123456789';

interface AuditLine {
  process?: { pid: number };
  event: { action: string; reason: string; outcome: string; duration?: number };
  source?: { ip?: string; port?: number; bytes?: number };
  destination?: { ip?: string; port?: number; bytes?: number };
  attestation?: { identity?: string };
}

/**
 * The suite for one process model (signals-health.test.ts: workers 1; signals-health-workers.test.ts:
 * workers 2, where signals reach the primary, which holds the one audit writer).
 * @example signalsHealthSuite(2)
 */
export function signalsHealthSuite(workers: number): void {
  describe(`gateway at runtime, workers: ${workers}: signals, audit rotation, health (spawned process)`, {
    skip: haveBinary('curl') ? false : 'curl not installed',
  }, () => {
    let dir: string;
    let backend: EchoBackend;
    let gw: GatewayProcess;
    let client: { cert: string; key: string };
    let auditPath: string;

    before(async () => {
      dir = tempDir('ratls-gw-ops-');
      client = (await simulatedFleet(dir, { good: { mrEnclave: GOOD } }, { mrEnclave: GOOD })).certs.good;
      backend = await echoBackend();
      writeFile(
        dir,
        'policy.yaml',
        `version: 1\ndefaults:\n  simulated: true\nidentities:\n  - name: payments\n    sgx: { mrEnclave: ["${GOOD}"] }\n`,
      );
      writeFile(dir, 'admin.token', `${TOKEN}\n`);
      auditPath = join(dir, 'audit.jsonl');
      writeFile(
        dir,
        'gateway.yaml',
        `version: 1
workers: ${workers}
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
admin: 127.0.0.1:0
adminAuth: { tokenFile: ./admin.token }
limits: { handshakeTimeoutMs: 5000, drainTimeoutMs: 2000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
`,
      );
      gw = await spawnGateway(join(dir, 'gateway.yaml'));
    });

    after(async () => {
      await gw?.stop('SIGKILL');
      await backend?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const lines = (path: string): AuditLine[] =>
      existsSync(path)
        ? readFileSync(path, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as AuditLine)
        : [];
    const curl = (path: string) =>
      run('curl', [
        '-sS',
        '-k',
        '--max-time',
        '10',
        '--cert',
        client.cert,
        '--key',
        client.key,
        `https://127.0.0.1:${gw.addresses.api}${path}`,
      ]);
    const admin = (path: string, headers: Record<string, string> = {}) =>
      fetch(`http://127.0.0.1:${gw.addresses.admin}${path}`, { headers });
    /** node:http, not fetch: fetch sets Host and Origin itself, an attacker's browser page names its own. */
    const raw = (path: string, headers: Record<string, string>) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: gw.addresses.admin, path, headers }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString('utf8');
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
      });
    const alive = () => gw.child.exitCode === null && gw.child.signalCode === null;
    const until = async (cond: () => boolean, what: string) => {
      for (let i = 0; i < 100 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(cond(), what);
    };

    /** Every accepted connection in the current file has its close event (they follow curl's exit). */
    const quiet = () =>
      until(() => {
        const ev = lines(auditPath);
        const count = (action: string, outcome: string) =>
          ev.filter((e) => e.event.action === action && e.event.outcome === outcome).length;
        return count('ratls-handshake', 'success') === count('ratls-connection-close', 'success');
      }, 'every connection closed');

    it('announces the simulated trust anchor on stderr and in ratls_warnings', async () => {
      const warn = gw
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { level: string; warning?: string; msg: string })
        .find((l) => l.warning === 'simulated_anchor');
      assert.ok(warn, gw.stderr());
      assert.equal(warn.level, 'warn');
      assert.match(warn.msg, /SIMULATOR/);
      const m = await (await admin('/metrics')).text();
      assert.match(m, /ratls_warnings\{kind="simulated_anchor"\} 1/);
      assert.match(m, /ratls_warnings\{kind="collateral_expired"\} 0/);
    });

    it('SIGUSR1 leaves the process running and the inspector closed', async () => {
      gw.child.kill('SIGUSR1');
      await until(() => /SIGUSR1 ignored/.test(gw.stderr()), 'SIGUSR1 handled');
      assert.ok(alive(), 'still running');
      assert.doesNotMatch(gw.stderr(), /Debugger listening/);
      assert.equal((await curl('/after-usr1')).code, 0);
      if (workers > 1) {
        // A worker is a Node process with its own inspector: SIGUSR1 sent to it must not open it either.
        await quiet();
        const pid = lines(auditPath).find((e) => e.process?.pid)?.process?.pid as number;
        assert.ok(pid, 'audit events name the worker');
        process.kill(pid, 'SIGUSR1');
        await new Promise((r) => setTimeout(r, 500));
        assert.doesNotThrow(() => process.kill(pid, 0), 'the worker is still running');
        assert.doesNotMatch(gw.stderr(), /Debugger listening|worker exited/);
      }
    });

    it('SIGUSR2 after a rename reopens the audit file: new events go to the new file, none to the old', async () => {
      assert.equal((await curl('/before')).code, 0);
      await quiet();
      renameSync(auditPath, `${auditPath}.1`);
      const rotated = lines(`${auditPath}.1`).length;
      gw.child.kill('SIGUSR2');
      // The reopen is synchronous in the handler; a request after it must land in the new file.
      await until(() => {
        return alive();
      }, 'alive after SIGUSR2');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await curl('/after-usr2')).code, 0);
      await until(() => lines(auditPath).some((e) => e.event.action === 'ratls-handshake'), 'events in the new file');
      assert.ok(alive(), 'SIGUSR2 must not kill the gateway');
      assert.equal(lines(`${auditPath}.1`).length, rotated, 'nothing more written to the renamed file');
    });

    it('SIGHUP after a rename reopens the audit file and reloads (the reload event is in the new file)', async () => {
      await quiet();
      renameSync(auditPath, `${auditPath}.2`);
      const rotated = lines(`${auditPath}.2`).length;
      gw.child.kill('SIGHUP');
      await until(() => lines(auditPath).some((e) => e.event.action === 'policy-reload'), 'reload audited in new file');
      assert.equal((await curl('/after-hup')).code, 0);
      await until(() => lines(auditPath).some((e) => e.event.action === 'ratls-handshake'), 'handshake in new file');
      assert.equal(lines(`${auditPath}.2`).length, rotated);
    });

    it('records a connection-close event with bytes in/out and duration; handshakes carry destination.*', async () => {
      const n = lines(auditPath).length;
      const r = await curl('/close-event');
      assert.equal(r.code, 0, r.stderr);
      await until(
        () =>
          lines(auditPath)
            .slice(n)
            .some((e) => e.event.action === 'ratls-connection-close'),
        'close',
      );
      const ev = lines(auditPath).slice(n);
      const hs = ev.find((e) => e.event.action === 'ratls-handshake');
      assert.equal(hs?.destination?.port, gw.addresses.api);
      assert.equal(hs?.destination?.ip, '127.0.0.1');
      const close = ev.find((e) => e.event.action === 'ratls-connection-close');
      assert.equal(close?.attestation?.identity, 'payments');
      assert.equal(close?.destination?.port, gw.addresses.api);
      // Application bytes: the request curl sent, and the response it printed (plus the status line and headers).
      assert.ok((close?.source?.bytes ?? 0) >= 'GET /close-event HTTP/1.1\r\n\r\n'.length, JSON.stringify(close));
      assert.ok((close?.destination?.bytes ?? 0) > r.stdout.length, JSON.stringify(close));
      assert.ok((close?.event.duration ?? -1) > 0);
    });

    it('/livez and /readyz answer without credentials; /healthz needs the bearer token', async () => {
      assert.equal((await admin('/livez')).status, 200);
      const ready = await admin('/readyz');
      assert.equal(ready.status, 200);
      assert.deepEqual(((await ready.json()) as { listeners: unknown }).listeners, { api: { ready: true } });
      assert.equal((await admin('/readyz/api?backend=1')).status, 200);
      assert.equal((await admin('/readyz/nope')).status, 404);
      const denied = await admin('/healthz');
      assert.equal(denied.status, 401);
      assert.equal(((await denied.json()) as { error: string }).error, 'ERR_ADMIN_UNAUTHORIZED');
      assert.equal((await admin('/healthz', { authorization: 'Bearer wrong' })).status, 401);
      const h = await admin('/healthz', { authorization: `Bearer ${TOKEN}` });
      assert.equal(h.status, 200);
      const body = (await h.json()) as { status: string; degraded?: boolean; warnings?: string[] };
      assert.equal(body.status, 'ok');
      assert.equal(body.degraded, true, 'a simulated anchor is a warning, not an outage');
      assert.match(body.warnings?.join(' ') ?? '', /SIMULATOR/);
    });

    it('refuses a foreign Host or Origin (DNS rebinding) on every admin path', async () => {
      for (const path of ['/metrics', '/livez', '/healthz']) {
        const r = await raw(path, { host: 'evil.example', authorization: `Bearer ${TOKEN}` });
        assert.equal(r.status, 403, path);
        assert.equal((JSON.parse(r.body) as { error: string }).error, 'ERR_ADMIN_HOST');
      }
      const o = await raw('/metrics', { origin: 'http://evil.example' });
      assert.equal(o.status, 403);
      assert.equal((await raw('/metrics', { host: `localhost:${gw.addresses.admin}` })).status, 200);
      assert.equal((await raw('/metrics', { host: `127.0.0.1:${gw.addresses.admin}` })).status, 200);
    });

    it('/readyz with backend=1 turns 503 for the listener whose backend is down', async () => {
      await backend.close();
      const r = await admin('/readyz/api?backend=1');
      assert.equal(r.status, 503);
      const body = (await r.json()) as { listeners: Record<string, { reasons?: string[] }> };
      assert.match(body.listeners.api?.reasons?.join(' ') ?? '', /backend/);
      assert.equal((await admin('/readyz/api')).status, 200, 'without the probe the listener can still decide');
    });

    it('SIGTERM still drains and exits 0 after all of the above', async () => {
      assert.equal(await gw.stop('SIGTERM'), 0);
    });
  });
}
