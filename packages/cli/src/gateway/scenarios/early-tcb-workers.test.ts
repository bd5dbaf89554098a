/**
 * Early TCB warning with `workers: 2` (issue 17), black-box: the real gateway process, its
 * primary and two workers, against the PCCS stand-in serving the simulator's standard set (the
 * enclave is UpToDate) and its update=early set (a recovery demoting that level to OutOfDate).
 * Connections spread over both workers (the audit `process.pid` says which); the primary's one
 * early watch warns once per identity and quote, and /metrics and /healthz say it once.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  adminToken,
  type EchoBackend,
  echoBackend,
  type GatewayProcess,
  haveBinary,
  run,
  simCert,
  simulatedPccs,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import type { PcsServer } from '@ratls/test-support/pcs-server';
import type { AuditEvent } from '@ratls/verifier';
import { chromiumSkip, launchChromium } from '../../console/chromium.test-helper.js';

const GOOD = '44'.repeat(32);

describe('gateway early TCB warning with workers: 2', {
  skip: haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let dir: string;
  let pcs: PcsServer;
  let backend: EchoBackend;
  let gw: GatewayProcess;
  let client: { cert: string; key: string };
  let second: { cert: string; key: string };

  before(async () => {
    dir = tempDir('ratls-gw-early-workers-');
    let sim: string;
    ({ sim, client, pcs } = await simulatedPccs(dir, GOOD, { early: true }));
    // The same enclave with another key: another quote (its report data binds the key).
    second = await simCert(sim, join(dir, 'second'), { mrEnclave: GOOD });
    backend = await echoBackend();
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: payments\n    sgx: { mrEnclave: "${GOOD}" }\n`,
    );
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
workers: 2
trust: { anchors: [./sim/root.pem], pccs: "${pcs.url}", cacheDir: ./pccs-cache }
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
admin: 127.0.0.1:0
adminAuth: { tokenFile: ${adminToken(dir).tokenFile} }
earlyTcb: true
limits: { handshakeTimeoutMs: 10000, drainTimeoutMs: 2000 }
listeners:
  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${backend.port}" } }
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'), 60_000);
  });

  after(async () => {
    await gw?.stop('SIGKILL');
    await backend?.close();
    await pcs?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const events = (): AuditEvent[] => {
    let text = '';
    try {
      text = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((l) => l.startsWith('{') && l.endsWith('}'))
      .map((l) => JSON.parse(l) as AuditEvent);
  };
  const warnings = () => events().filter((e) => e.event.action === 'ratls-early-tcb-warning');
  const admin = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${gw.addresses.admin}${path}`, { headers: adminToken(dir).headers });
    return { status: r.status, text: await r.text() };
  };
  const curl = (c: { cert: string; key: string }) =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '20',
      '--cert',
      c.cert,
      '--key',
      c.key,
      `https://127.0.0.1:${gw.addresses.api}/p`,
    ]);
  /** Polls (bounded) until `f` holds: the early appraisal runs after the accept, in the primary. */
  const eventually = async (what: string, f: () => Promise<boolean> | boolean) => {
    const deadline = Date.now() + 30_000;
    while (!(await f())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}: ${gw.stderr().slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const atRisk = (text: string) => [...text.matchAll(/^ratls_early_tcb_at_risk\{([^}]*)\} (\d+)$/gm)];

  it('one warning and one gauge for an enclave whose connections both workers accepted', async () => {
    for (let i = 0; i < 6; i++) {
      const r = await curl(client);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers['x-ratls-identity'],
        'payments',
      );
    }
    let accepts: AuditEvent[] = [];
    await eventually('six accept events', () => {
      accepts = events().filter((e) => e.event.action === 'ratls-handshake' && e.event.outcome === 'success');
      return accepts.length === 6;
    });
    const pids = new Set(accepts.map((e) => e.process?.pid));
    assert.equal(pids.size, 2, `both workers accepted: ${[...pids].join(',')}`);
    assert.ok(
      accepts.every((e) => e.attestation?.tcb_status === 'UpToDate'),
      'accepted today under the standard set',
    );
    await eventually('the at-risk metric', async () => atRisk((await admin('/metrics')).text).length > 0);
    const series = atRisk((await admin('/metrics')).text).map((m) => `${m[1]} ${m[2]}`);
    assert.deepEqual(series, ['identity="payments",status="OutOfDate" 1'], 'served once, not summed over workers');
    assert.ok(pcs.hits.some((h) => h.includes('update=early')));
    const h = await admin('/healthz');
    assert.equal(h.status, 200, `a warning, not a 503: ${h.text}`);
    const body = JSON.parse(h.text) as {
      warnings?: string[];
      earlyTcb: { identities: Array<Record<string, unknown>>; dropped?: number };
    };
    assert.ok(
      body.warnings?.some((w) => /payments/.test(w) && /OutOfDate/.test(w)),
      h.text,
    );
    assert.deepEqual(body.earlyTcb, {
      identities: [{ identity: 'payments', peers: 1, atRisk: 1, status: 'UpToDate', earlyStatus: 'OutOfDate' }],
    });
    // The console reads the primary's /healthz: the same identity at risk (Chromium, when installed).
    if (!chromiumSkip()) {
      const browser = await launchChromium();
      try {
        const ctx = await browser.newContext({ extraHTTPHeaders: adminToken(dir).headers });
        const page = await ctx.newPage();
        await page.goto(`http://127.0.0.1:${gw.addresses.admin}/console`);
        const early = page.locator('tr[data-early="payments"]');
        await early.waitFor({ timeout: 10_000 });
        assert.deepEqual(await early.locator('td').allTextContents(), ['payments', '1', '1', 'UpToDate', 'OutOfDate']);
      } finally {
        await browser.close();
      }
    }
    await new Promise((r) => setTimeout(r, 500));
    const w = warnings();
    assert.equal(w.length, 1, JSON.stringify(w));
    assert.equal(w[0]?.attestation?.identity, 'payments');
    assert.equal(w[0]?.attestation?.early_tcb_status, 'OutOfDate');
    assert.equal(typeof w[0]?.attestation?.tcb_evaluation_data_number, 'number');
    assert.equal(w[0]?.labels?.listener, 'api');
  });

  it('a second quote of the same identity gives a second warning, once', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await curl(second)).code, 0);
    await eventually('the second warning', () => warnings().length >= 2);
    await eventually('two peers at risk', async () => atRisk((await admin('/metrics')).text).some((m) => m[2] === '2'));
    assert.deepEqual(
      atRisk((await admin('/metrics')).text).map((m) => `${m[1]} ${m[2]}`),
      ['identity="payments",status="OutOfDate" 2'],
    );
    await new Promise((r) => setTimeout(r, 500));
    const w = warnings();
    assert.equal(w.length, 2, JSON.stringify(w));
    assert.notEqual(w[0]?.attestation?.quote_sha256, w[1]?.attestation?.quote_sha256);
    const body = JSON.parse((await admin('/healthz')).text) as { earlyTcb: { identities: unknown[] } };
    assert.deepEqual(body.earlyTcb.identities, [
      { identity: 'payments', peers: 2, atRisk: 2, status: 'UpToDate', earlyStatus: 'OutOfDate' },
    ]);
  });
});
