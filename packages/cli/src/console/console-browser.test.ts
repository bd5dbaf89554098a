/**
 * The console in a real browser: Debian's Chromium driven by playwright-core (no downloaded
 * browser), in front of a real gateway with allowed, impostor and debug clients.
 * RATLS_SCREENSHOTS=1 also writes docs/console*.png (committed, shown in docs/console.md).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  echoBackend,
  GOOD,
  REPO,
  run,
  scenarioCerts,
  scenarioCollateral,
  scenarioOptions,
  scenarioPolicy,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import type { Browser } from 'playwright-core';
import { type Gateway, startGateway } from '../gateway/gateway.js';
import { chromiumSkip, launchChromium } from './chromium.test-helper.js';

const skip = !HAVE_VECTORS ? 'needs the collateral vector' : chromiumSkip();
const TOKEN = 'browser-test-token-9f8e7d6c5b4a';
const SHOTS = process.env.RATLS_SCREENSHOTS === '1';

describe('incident console in Chromium', { skip }, () => {
  let gw: Gateway;
  let backend: EchoBackend;
  let browser: Browser;
  let certs: ReturnType<typeof scenarioCerts<'good' | 'impostor' | 'debug'>>;
  const events: AuditEvent[] = [];
  let adminPort = 0;

  before(async () => {
    const dir = tempDir('ratls-console-');
    certs = scenarioCerts(dir, ['good', 'impostor', 'debug'] as const);
    backend = await echoBackend();
    writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
    const tokenFile = writeFile(dir, 'admin.token', `${TOKEN}\n`);
    const config = writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  collateral: ${scenarioCollateral().path}
policy: ./policy.yaml
admin: 127.0.0.1:0
adminAuth: { tokenFile: ${tokenFile} }
limits: { handshakeTimeoutMs: 1500, drainTimeoutMs: 1000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}/base" }
`,
    );
    gw = await startGateway(
      config,
      scenarioOptions(events, () => scenarioCollateral().now),
    );
    adminPort = gw.addresses().admin?.port as number;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await backend?.close();
  });

  const curl = (who: 'good' | 'impostor' | 'debug') =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      '--cert',
      certs[who].cert,
      '--key',
      certs[who].key,
      `https://127.0.0.1:${gw.addresses().api?.port}/hello`,
    ]);

  it('shows each decision within a second, the impostor highlighted with the differing field, and its trace', async () => {
    const ctx = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` },
      viewport: { width: 1400, height: 900 },
    });
    const page = await ctx.newPage();
    const foreign: string[] = [];
    const errors: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(`http://127.0.0.1:${adminPort}/console`)) foreign.push(r.url());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    try {
      const res = await page.goto(`http://127.0.0.1:${adminPort}/console`);
      assert.equal(res?.status(), 200);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 5000 });
      const lags: number[] = [];
      for (const who of ['good', 'impostor', 'debug'] as const) {
        const before = events.length;
        await curl(who);
        const ev = events.slice(before).find((e) => e.event.action === 'ratls-handshake');
        assert.ok(ev, `${who}: a handshake event`);
        const t0 = Date.now();
        await page.waitForSelector(`tr.decision[data-reason="${ev.event.reason}"]`, { timeout: 1000 });
        lags.push(Date.now() - t0);
      }
      console.log(`console: decision → row in ${lags.join(', ')} ms (good, impostor, debug)`);
      const rows = page.locator('tr.decision');
      assert.equal(await rows.count(), 3);
      const bad = page.locator('tr.decision.mismatch');
      assert.equal(await bad.count(), 1);
      const text = (await bad.locator('td').allTextContents()).join(' ');
      assert.match(text, /measurement_mismatch/);
      assert.match(text, /closest: payments/);
      assert.match(text, /mrEnclave/);
      // From the decision trace (trace.policy[].f of the closest identity), not the message text.
      const impostorEv = events.find((e) => e.event.reason === 'measurement_mismatch');
      console.log(`console: the impostor's trace: ${JSON.stringify({ ...impostorEv?.trace, attestation: '…' })}`);
      assert.equal(await bad.getAttribute('data-differs'), 'mrEnclave');
      assert.match(text, /payments differs in mrEnclave/);
      assert.equal(await page.locator('tr.decision.accepted').count(), 1);
      assert.equal(await page.locator('tr.decision.refused').count(), 2);
      // A locator wait, not waitForFunction(string): the page's CSP (no 'unsafe-eval') refuses string evaluation.
      await page.locator('#count-total', { hasText: /^decisions 3$/ }).waitFor({ timeout: 3000 });
      assert.deepEqual((await page.locator('tr[data-identity="payments"] td').allTextContents()).slice(0, 3), [
        'payments',
        '1',
        '2',
      ]);
      assert.match((await page.locator('#collateral-rows').textContent()) ?? '', /[0-9a-f]{12}/);
      assert.match((await page.locator('#policy-hash').textContent()) ?? '', /^[0-9a-f]{64}$/);
      if (SHOTS) await page.screenshot({ path: join(REPO, 'docs/console.png'), fullPage: true });
      await bad.click();
      const detail = (await page.locator('#detail-json').textContent()) ?? '';
      const shown = JSON.parse(detail) as AuditEvent;
      const impostor = events.find((e) => e.event.reason === 'measurement_mismatch');
      assert.deepEqual(shown, impostor);
      assert.match((await page.locator('#detail-hint').textContent()) ?? '', /^audit event [0-9a-f]{24}$/);
      const why = (await page.locator('#detail-why').textContent()) ?? '';
      assert.match(why, /closest identity: payments/);
      assert.match(why, /fields that differed: mrEnclave/);
      assert.match(why, /decided by: mrEnclave/);
      assert.deepEqual(shown.trace, impostor?.trace, 'the whole trace');
      if (SHOTS) await page.screenshot({ path: join(REPO, 'docs/console-detail.png'), fullPage: true });
      assert.deepEqual(foreign, []);
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });

  it('gives an unauthenticated browser nothing', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    try {
      const res = await page.goto(`http://127.0.0.1:${adminPort}/console`);
      assert.equal(res?.status(), 401);
      const body = await page.content();
      assert.doesNotMatch(body, /decisions|payments|<table/);
      const sse = await page.evaluate(
        async (u) => (await fetch(u)).status,
        `http://127.0.0.1:${adminPort}/console/events`,
      );
      assert.equal(sse, 401);
    } finally {
      await ctx.close();
    }
  });

  it('refuses a request with a foreign Host (403 ERR_ADMIN_HOST)', async () => {
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get(
          {
            host: '127.0.0.1',
            port: adminPort,
            path: '/console',
            headers: { host: 'attacker.example', authorization: `Bearer ${TOKEN}` },
          },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        )
        .on('error', reject);
    });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error, 'ERR_ADMIN_HOST');
  });
});
