/**
 * The console across gateway workers: the real gateway process with `workers: 2` (the primary owns
 * the one audit writer and the console; the workers' events reach it over IPC), Debian's Chromium
 * through playwright-core, curl as the clients. Every decision of both workers is on the page under
 * the id of its audit line, the counts are the audit log's, and the page lists the policy's
 * waivers and a SIGHUP reload with its parts.
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
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import type { AuditEvent } from '@ratls/verifier';
import type { Browser } from 'playwright-core';
import { chromiumSkip, launchChromium } from './chromium.test-helper.js';
import { eventId, isDecision } from './tally.js';

const GOOD = '11'.repeat(32);
const IMPOSTOR = '22'.repeat(32);
const TOKEN = 'workers-console-token-5a4b3c2d1e';
const WAIVER_UNTIL = '2099-01-01T00:00:00Z';
const policyText = (tag: string) =>
  `version: 1
# ${tag}
defaults:
  simulated: true   # the simulator's root: tests only
identities:
  - name: payments
    sgx: { mrEnclave: ["${GOOD}"] }
waivers:
  - name: hardening-rollout
    identities: [payments]
    tcbStatus: [SWHardeningNeeded]
    until: ${WAIVER_UNTIL}
    reason: CHG-42 microcode rollout
`;

const skip = !haveBinary('curl') ? 'curl not installed' : chromiumSkip();

describe('incident console in Chromium, gateway with workers: 2', { skip }, () => {
  let dir: string;
  let backend: EchoBackend;
  let gw: GatewayProcess;
  let browser: Browser;
  let c: Record<'good' | 'impostor', { cert: string; key: string }>;
  let auditPath: string;
  let policyPath: string;

  before(async () => {
    dir = tempDir('ratls-console-workers-');
    ({ certs: c } = await simulatedFleet(
      dir,
      { good: { mrEnclave: GOOD }, impostor: { mrEnclave: IMPOSTOR } },
      { mrEnclave: GOOD },
    ));
    backend = await echoBackend();
    policyPath = writeFile(dir, 'policy.yaml', policyText('first'));
    writeFile(dir, 'admin.token', `${TOKEN}\n`);
    auditPath = join(dir, 'audit.jsonl');
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
workers: 2
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
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
    // A primary and two workers, each starting under tsx: slow when the whole suite shares 2 cores.
    gw = await spawnGateway(join(dir, 'gateway.yaml'), 100_000);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await gw?.stop('SIGKILL');
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const decisions = (): AuditEvent[] =>
    readFileSync(auditPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as AuditEvent)
      .filter(isDecision);
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

  it("shows both workers' decisions under their audit ids, the audit log's counts, waivers and a reload", async () => {
    const ctx = await browser.newContext({
      extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` },
      viewport: { width: 1400, height: 900 },
    });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      const res = await page.goto(`http://127.0.0.1:${gw.addresses.admin}/console`);
      assert.equal(res?.status(), 200);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 10_000 });
      for (let i = 0; i < 6; i++) assert.equal((await curl('good', `/w${i}`)).code, 0);
      for (let i = 0; i < 4; i++) assert.notEqual((await curl('impostor', `/x${i}`)).code, 0);
      await page.locator('#count-total', { hasText: /^decisions 10$/ }).waitFor({ timeout: 10_000 });
      const evs = decisions();
      assert.equal(evs.length, 10, 'one audit event per attempt');
      const pids = new Set(evs.map((e) => e.process?.pid));
      assert.equal(pids.size, 2, `decided by two workers: ${[...pids].join(',')}`);
      assert.equal(await page.locator('tr.decision').count(), 10);
      for (const ev of evs) {
        assert.equal(await page.locator(`tr.decision[data-id="${eventId(ev)}"]`).count(), 1, `row for ${eventId(ev)}`);
      }
      assert.equal(await page.locator('#count-allowed').textContent(), 'allowed 6');
      assert.equal(await page.locator('#count-denied').textContent(), 'refused 4');
      assert.equal(await page.locator('#count-mismatch').textContent(), 'measurement_mismatch 4');
      assert.equal(await page.locator('tr.decision.mismatch[data-differs="mrEnclave"]').count(), 4);
      assert.deepEqual((await page.locator('tr[data-identity="payments"] td').allTextContents()).slice(0, 3), [
        'payments',
        '6',
        '4',
      ]);
      const waiver = (await page.locator('tr[data-waiver="hardening-rollout"] td').allTextContents()).join(' | ');
      assert.match(
        waiver,
        /hardening-rollout \(policy\.yaml\) \| payments \| SWHardeningNeeded \| 2099-01-01T00:00:00\.000Z/,
      );

      writeFileSync(policyPath, policyText('second'));
      gw.child.kill('SIGHUP');
      await page
        .locator('#reloads tr.reload', { hasText: /applied: policy/ })
        .first()
        .waitFor({ timeout: 10_000 });
      const reload = (await page.locator('#reloads tr.reload').first().locator('td').allTextContents()).join(' | ');
      assert.match(reload, /reloaded \| [0-9a-f]{16} \| applied: policy \S*policy\.yaml reloaded: [0-9a-f]{12} → /);
      assert.deepEqual(errors, []);
    } finally {
      await ctx.close();
    }
  });
});
