import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { tempDir } from '@ratls/test-support/gateway-helpers';
import { type AuditEvent, buildAuditEvent, buildPolicyReloadEvent } from '@ratls/verifier';
import { chromiumSkip, launchChromium } from '../console/chromium.test-helper.js';
import { explainDecision } from '../console/explain.js';
import { main } from '../main.js';

const AT = Date.parse('2026-03-01T12:00:00Z');
const HASH = 'ab'.repeat(32);

/** A recorded incident: 4 accepted, 3 impostors (measurement_mismatch), 1 debug, and a reload. */
function recordedLog(): AuditEvent[] {
  const evs: AuditEvent[] = [];
  const at = (i: number) => new Date(AT + i * 45_000);
  for (let i = 0; i < 4; i++) {
    evs.push(
      buildAuditEvent({
        decision: { accept: true, identity: 'payments', policyHash: HASH } as never,
        listener: 'api',
        at: at(i),
      }),
    );
  }
  evs.push(
    buildPolicyReloadEvent({ ok: true, hash: HASH, previousHash: 'cd'.repeat(32), source: 'policy.yaml', at: at(4) }),
  );
  for (let i = 5; i < 8; i++) {
    evs.push(
      buildAuditEvent({
        decision: {
          accept: false,
          reasons: [
            {
              code: 'measurement_mismatch',
              message: 'no sgx identity matched: payments: mrEnclave cccccccc… is not aaaaaaaa…',
            },
          ],
          closest: { identity: 'payments' },
          policyHash: HASH,
        } as never,
        peer: { ip: '10.0.0.9', port: 40000 + i },
        listener: 'api',
        at: at(i),
      }),
    );
  }
  evs.push(
    buildAuditEvent({
      decision: {
        accept: false,
        reasons: [{ code: 'debug_not_allowed', message: '</script><b>x</b>' }],
        policyHash: HASH,
      } as never,
      listener: 'api',
      at: at(8),
    }),
  );
  return evs;
}

function writeLog(dir: string): string {
  const path = join(dir, 'audit.jsonl');
  writeFileSync(
    path,
    `${recordedLog()
      .map((e) => JSON.stringify(e))
      .join('\n')}\nnot json\n{"x":1}\n`,
  );
  return path;
}

describe('ratls report', () => {
  it('writes one self-contained page: inline assets, hash-pinned CSP, no URL to fetch', async () => {
    const dir = tempDir('ratls-report-');
    const out = join(dir, 'report.html');
    const lines: string[] = [];
    const code = await main(['node', 'ratls', 'report', '--audit', writeLog(dir), '--out', out], {
      out: (l) => lines.push(l),
    });
    assert.equal(code, 0);
    assert.match(lines.join('\n'), /9 events, 8 decisions \(4 allowed, 4 refused\), 2 lines skipped/);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'sha256-/);
    assert.doesNotMatch(html, /src="|href="|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    // An event's text cannot close the data element.
    assert.doesNotMatch(html, /<\/script><b>/);
  });

  it('refuses an unreadable audit log with ERR_INPUT_UNREADABLE (exit 2)', async () => {
    const errs: string[] = [];
    const code = await main(
      ['node', 'ratls', 'report', '--audit', '/nonexistent/audit.jsonl', '--out', '/tmp/x.html'],
      {
        err: (l) => errs.push(l),
        out: () => undefined,
      },
    );
    assert.equal(code, 2);
    assert.match(errs.join('\n'), /audit log \/nonexistent/);
  });

  it('opens in Chromium with no network and shows the same counts', {
    skip: chromiumSkip(),
  }, async () => {
    const dir = tempDir('ratls-report-');
    const out = join(dir, 'report.html');
    await main(['node', 'ratls', 'report', '--audit', writeLog(dir), '--out', out], { out: () => undefined });
    const browser = await launchChromium();
    try {
      const ctx = await browser.newContext({ offline: true });
      const requested: string[] = [];
      ctx.on('request', (r) => requested.push(r.url()));
      const errors: string[] = [];
      const page = await ctx.newPage();
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(out).href);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 5000 });
      assert.equal(await page.locator('#count-total').textContent(), 'decisions 8');
      assert.equal(await page.locator('#count-allowed').textContent(), 'allowed 4');
      assert.equal(await page.locator('#count-denied').textContent(), 'refused 4');
      assert.equal(await page.locator('#count-mismatch').textContent(), 'measurement_mismatch 3');
      assert.equal(await page.locator('tr.decision').count(), 8);
      assert.equal(await page.locator('tr.decision.mismatch').count(), 3);
      // Decisions 45 s apart from 12:00:00 fall in seven minutes: two bars (allowed, refused) each.
      assert.equal(await page.locator('#chart-box svg rect').count(), 2 * 7);
      assert.equal(await page.locator('#reloads tr').count(), 1);
      assert.equal(await page.locator('#policy-hash').textContent(), HASH);
      assert.equal(await page.locator('b').count(), 0);
      assert.deepEqual(errors, []);
      assert.deepEqual(
        requested.filter((u) => !u.startsWith('file:')),
        [],
      );
      await ctx.close();
    } finally {
      await browser.close();
    }
  });

  it('shows the trace-derived explanation, waivers, partial reloads and SNP collateral, offline', {
    skip: chromiumSkip(),
  }, async () => {
    const at = (i: number) => new Date(AT + i * 1000);
    const impostor = buildAuditEvent({
      decision: {
        accept: false,
        reasons: [{ code: 'measurement_mismatch', message: 'no sgx identity matched' }],
        closest: { identity: 'payments' },
        policyHash: HASH,
      } as never,
      checks: [
        { identity: 'batch', failed: ['mrEnclave', 'mrSigner'], refused: [] },
        { identity: 'payments', failed: ['mrEnclave'], refused: [] },
      ],
      at: at(0),
    });
    const waived = buildAuditEvent({
      decision: {
        accept: true,
        identity: 'payments',
        policyHash: HASH,
        waivers: ['tcb-r-2026-02'],
        validUntil: (AT + 86_400_000) / 1000,
      } as never,
      at: at(1),
    });
    // An SEV-SNP accept as the gateway records it: the trace names the product and the result's window.
    const snp = buildAuditEvent({ decision: { accept: true, identity: 'vm', policyHash: HASH } as never, at: at(2) });
    const notAfter = (AT + 2 * 86_400_000) / 1000;
    const snpLine = {
      ...snp,
      attestation: { ...snp.attestation, tee: 'sev-snp' },
      trace: {
        ...snp.trace,
        collateral: { snpProduct: 'Milan', reportedTcb: { bootloader: 4, tee: 0, snp: 22, microcode: 213 } },
        attestation: { v: 1, tee: 'sev-snp', collateralWindow: { notBefore: AT / 1000 - 86_400, notAfter } },
      },
    };
    const reloads = [
      buildPolicyReloadEvent({ ok: true, hash: HASH, source: 'a.yaml', at: at(3) }),
      buildPolicyReloadEvent({
        ok: false,
        source: 'b.yaml',
        error: { code: 'ERR_POLICY_SCHEMA', message: 'b.yaml:3:1: bad' },
        at: at(3),
      }),
    ];
    const dir = tempDir('ratls-report-');
    const log = join(dir, 'audit.jsonl');
    writeFileSync(log, `${[impostor, waived, snpLine, ...reloads].map((e) => JSON.stringify(e)).join('\n')}\n`);
    const out = join(dir, 'report.html');
    assert.equal(await main(['node', 'ratls', 'report', '--audit', log, '--out', out], { out: () => undefined }), 0);
    const browser = await launchChromium();
    try {
      const ctx = await browser.newContext({ offline: true });
      const page = await ctx.newPage();
      await page.goto(pathToFileURL(out).href);
      await page.waitForSelector('body[data-ready="1"]', { timeout: 5000 });
      const bad = page.locator('tr.decision.mismatch');
      assert.equal(await bad.getAttribute('data-differs'), 'mrEnclave');
      // The report and the live page render the same function's output.
      assert.equal(await bad.locator('td.why').textContent(), explainDecision(impostor).text);
      assert.equal(await bad.locator('td.why').textContent(), 'payments differs in mrEnclave');
      await bad.click();
      assert.match((await page.locator('#detail-why').textContent()) ?? '', /fields that differed: mrEnclave/);
      assert.equal(await page.locator('tr.decision.waived').count(), 1);
      const w = await page.locator('tr[data-waiver="tcb-r-2026-02"] td').allTextContents();
      assert.equal(w.at(-1), '1', 'one decision accepted under the waiver');
      assert.match((await page.locator('#waiver-note').textContent()) ?? '', /not in the audit log/);
      const c = await page.locator('tr[data-collateral="sev-snp/Milan"] td').allTextContents();
      assert.equal(c[1], new Date(notAfter * 1000).toISOString());
      // The report's "now" is its latest event (12:00:03): two days less three seconds.
      assert.equal(c[2], '1d 23h');
      const r = (await page.locator('#reloads tr').first().locator('td').allTextContents()).join(' | ');
      assert.match(r, /in part .*applied: policy a\.yaml reloaded.*refused \(ERR_POLICY_SCHEMA\): policy b\.yaml/);
      await ctx.close();
    } finally {
      await browser.close();
    }
  });
});
