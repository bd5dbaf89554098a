/**
 * Early TCB warning end to end (issue 17): the PCCS stand-in serves the simulator's standard set
 * (the enclave is UpToDate) and its update=early set (a TCB recovery that demotes that level to
 * OutOfDate). With `earlyTcb: true` the peer is still accepted; /metrics and /healthz show its
 * identity at risk, and three connections from the enclave write one audit warning.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '@ratls/evidence';
import {
  adminToken,
  type EchoBackend,
  echoBackend,
  haveBinary,
  run,
  simulatedPccs,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import type { PcsServer } from '@ratls/test-support/pcs-server';
import type { AuditEvent } from '@ratls/verifier';
import { chromiumSkip, launchChromium } from '../../console/chromium.test-helper.js';
import { loadGatewayConfig } from '../config/config.js';
import { type Gateway, startGateway } from '../index.js';

const GOOD = '44'.repeat(32);

describe('gateway early TCB warning', { skip: haveBinary('curl') ? false : 'curl not installed' }, () => {
  let dir: string;
  let pcs: PcsServer;
  let backend: EchoBackend;
  let gw: Gateway;
  const events: AuditEvent[] = [];
  let client: { cert: string; key: string };

  before(async () => {
    dir = tempDir('ratls-gw-early-');
    ({ client, pcs } = await simulatedPccs(dir, GOOD, { early: true }));
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
trust: { anchors: [./sim/root.pem], pccs: "${pcs.url}", cacheDir: ./pccs-cache }
policy: ./policy.yaml
admin: 127.0.0.1:0
adminAuth: { tokenFile: ${adminToken(dir).tokenFile} }
earlyTcb: true
listeners:
  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${backend.port}" } }
`,
    );
    gw = await startGateway(join(dir, 'gateway.yaml'), {
      auditSink: { callback: (e) => events.push(e) },
      watch: false,
      log: () => undefined,
    });
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
    await pcs?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const admin = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${gw.addresses().admin?.port}${path}`, {
      headers: adminToken(dir).headers,
    });
    return { status: r.status, text: await r.text() };
  };
  const curl = () =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '20',
      '--cert',
      client.cert,
      '--key',
      client.key,
      `https://127.0.0.1:${gw.addresses().api?.port}/p`,
    ]);
  /** Polls (bounded) until `f` holds: the early appraisal runs after the accept, off the handshake path. */
  const eventually = async (what: string, f: () => Promise<boolean>) => {
    const deadline = Date.now() + 30_000;
    while (!(await f())) {
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const warnings = () => events.filter((e) => e.event.action === 'ratls-early-tcb-warning');

  it('accepts the UpToDate peer, shows it at risk under the early set, warns once for three connections', async () => {
    for (let i = 0; i < 3; i++) {
      const r = await curl();
      assert.equal(r.code, 0, `${r.stderr} ${JSON.stringify(events.at(-1))}`);
      assert.equal(
        (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers['x-ratls-identity'],
        'payments',
      );
    }
    const accepts = events.filter((e) => e.event.action === 'ratls-handshake' && e.event.outcome === 'success');
    assert.equal(accepts.length, 3);
    assert.equal(accepts[0]?.attestation?.tcb_status, 'UpToDate', 'accepted today under the standard set');
    await eventually('the at-risk metric', async () =>
      /ratls_early_tcb_at_risk\{identity="payments",status="OutOfDate"\} 1/.test((await admin('/metrics')).text),
    );
    assert.ok(
      pcs.hits.some((h) => h.includes('update=early')),
      'the early set was fetched',
    );
    const h = await admin('/healthz');
    assert.equal(h.status, 200, `a warning, not a 503: ${h.text}`);
    const body = JSON.parse(h.text) as {
      degraded?: boolean;
      warnings?: string[];
      earlyTcb: { identities: Array<Record<string, unknown>> };
    };
    assert.equal(body.degraded, true);
    assert.ok(
      body.warnings?.some((w) => /payments/.test(w) && /OutOfDate/.test(w)),
      h.text,
    );
    assert.deepEqual(body.earlyTcb.identities, [
      { identity: 'payments', peers: 1, atRisk: 1, status: 'UpToDate', earlyStatus: 'OutOfDate' },
    ]);
    // The console shows the identity at risk (Chromium, when installed).
    if (!chromiumSkip()) {
      const browser = await launchChromium();
      try {
        const ctx = await browser.newContext({ extraHTTPHeaders: adminToken(dir).headers });
        const page = await ctx.newPage();
        await page.goto(`http://127.0.0.1:${gw.addresses().admin?.port}/console`);
        const early = page.locator('tr[data-early="payments"]');
        await early.waitFor({ timeout: 5000 });
        assert.deepEqual(await early.locator('td').allTextContents(), ['payments', '1', '1', 'UpToDate', 'OutOfDate']);
      } finally {
        await browser.close();
      }
    }
    // A fourth connection after the assessment: still one warning for this enclave.
    assert.equal((await curl()).code, 0);
    await new Promise((r) => setTimeout(r, 300));
    const w = warnings();
    assert.equal(w.length, 1, JSON.stringify(w));
    assert.equal(w[0]?.attestation?.identity, 'payments');
    assert.equal(w[0]?.attestation?.tcb_status, 'UpToDate');
    assert.equal(w[0]?.attestation?.early_tcb_status, 'OutOfDate');
    assert.deepEqual(w[0]?.attestation?.early_advisory_ids, ['INTEL-SA-99999']);
    assert.equal(typeof w[0]?.attestation?.tcb_evaluation_data_number, 'number');
    assert.equal(w[0]?.labels?.listener, 'api');
  });

  it('refuses earlyTcb without PCCS collateral, and loads it with workers > 1', () => {
    const base = `version: 1
policy: ./policy.yaml
earlyTcb: true
listeners:
  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:1" } }
`;
    writeFile(dir, 'files.yaml', `${base}trust: { anchors: [./sim/root.pem], collateral: ./sim/collateral.json }\n`);
    assert.throws(
      () => loadGatewayConfig(join(dir, 'files.yaml')),
      (e: unknown) =>
        e instanceof ConfigError && e.code === 'ERR_GATEWAY_CONFIG' && /earlyTcb needs trust.pccs/.test(e.message),
    );
    writeFile(dir, 'workers.yaml', `${base}workers: 2\ntrust: { anchors: [./sim/root.pem], pccs: "${pcs.url}" }\n`);
    // The cluster primary runs the one early watch (early-ipc.ts): any worker count is fine.
    const c = loadGatewayConfig(join(dir, 'workers.yaml'));
    assert.equal(c.earlyTcb, true);
    assert.equal(c.workers, 2);
    writeFile(
      dir,
      'workers-files.yaml',
      `${base}workers: 2\ntrust: { anchors: [./sim/root.pem], collateral: ./sim/collateral.json }\n`,
    );
    assert.throws(
      () => loadGatewayConfig(join(dir, 'workers-files.yaml')),
      (e: unknown) =>
        e instanceof ConfigError && e.code === 'ERR_GATEWAY_CONFIG' && /earlyTcb needs trust.pccs/.test(e.message),
    );
  });
});
