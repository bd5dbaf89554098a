import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import { type AuditEvent, buildAuditEvent, buildPolicyReloadEvent, createAuditLog } from '@ratls/verifier';
import { startAdmin } from '../gateway/admin.js';
import { createGatewayMetrics } from '../gateway/metrics.js';
import { CONSOLE_JS } from './assets.js';
import { ConsoleHub, tapAudit } from './hub.js';
import { CONSOLE_HEADERS } from './routes.js';
import { eventId, Tally } from './tally.js';

const AT = new Date('2026-03-01T12:00:00Z');
const TOKEN = 'console-test-token-0123456789';

/** A refusal as the gateway audits it: the policy's measurement_mismatch with the closest identity. */
function impostorEvent(i: number): AuditEvent {
  return buildAuditEvent({
    decision: {
      accept: false,
      reasons: [
        {
          code: 'measurement_mismatch',
          message: `no sgx identity matched: mrEnclave ${'cc'.repeat(4)}… not in payments`,
        },
      ],
      closest: { identity: 'payments' },
      policyHash: 'ab'.repeat(32),
    } as never,
    peer: { ip: '127.0.0.1', port: 40000 + i },
    listener: 'api',
    at: new Date(AT.getTime() + i),
  });
}

function get(port: number, path: string, headers: http.OutgoingHttpHeaders = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

describe('incident console routes', () => {
  const hub = new ConsoleHub();
  let admin: Awaited<ReturnType<typeof startAdmin>>;
  let port = 0;
  const auth = { authorization: `Bearer ${TOKEN}` };

  before(async () => {
    const dir = tempDir('ratls-console-');
    const tokenFile = writeFile(dir, 'token', `${TOKEN}\n`);
    admin = await startAdmin(
      { host: '127.0.0.1', port: 0 },
      {
        health: () => ({
          ok: true,
          body: {
            collateral: { source: 'files', entries: [{ fmspc: '00906ed50000', nextUpdate: '2026-03-10T00:00:00Z' }] },
          },
        }),
        metrics: createGatewayMetrics('1.2.3'),
        auth: { tokenFile, allowedHosts: [] },
        console: hub,
        now: () => AT.getTime(),
      },
    );
    port = admin.address()?.port as number;
  });
  after(async () => {
    await admin.close();
    hub.close();
  });

  it('gives an unauthenticated request nothing of the console (401 ERR_ADMIN_UNAUTHORIZED)', async () => {
    hub.ingest(impostorEvent(0));
    for (const p of ['/console', '/console/app.js', '/console/state.json', '/console/events']) {
      const r = await get(port, p);
      assert.equal(r.status, 401, p);
      assert.equal(JSON.parse(r.body).error, 'ERR_ADMIN_UNAUTHORIZED');
      assert.doesNotMatch(r.body, /payments|measurement_mismatch|<html/);
    }
    const wrong = await get(port, '/console/state.json', { authorization: 'Bearer not-the-token' });
    assert.equal(wrong.status, 401);
  });

  it('refuses a foreign Host even with the token (403 ERR_ADMIN_HOST: DNS rebinding)', async () => {
    const r = await get(port, '/console', { ...auth, host: 'evil.example' });
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.body).error, 'ERR_ADMIN_HOST');
    const o = await get(port, '/console/events', { ...auth, origin: 'http://evil.example' });
    assert.equal(o.status, 403);
  });

  it('serves the page with a strict CSP and only same-origin assets', async () => {
    const page = await get(port, '/console', auth);
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-security-policy'], CONSOLE_HEADERS['content-security-policy']);
    assert.match(String(page.headers['content-security-policy']), /^default-src 'self';/);
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(page.body, /https?:\/\//);
    assert.doesNotMatch(page.body, /<script>|<style>| on[a-z]+=/);
    const js = await get(port, '/console/app.js', auth);
    assert.match(String(js.headers['content-type']), /^text\/javascript/);
    assert.doesNotMatch(js.body, /innerHTML|eval\(|new Function/);
    assert.equal((await get(port, '/console/nope', auth)).status, 404);
  });

  it('streams each decision over SSE within a second, after a hello with the state', async () => {
    const seen: string[] = [];
    const got = await new Promise<string>((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/console/events', headers: auth }, (res) => {
        assert.equal(res.headers['content-type'], 'text/event-stream');
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          buf += c;
          let i = buf.indexOf('\n\n');
          while (i >= 0) {
            const msg = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const ev = /^event: (\w+)$/m.exec(msg)?.[1];
            if (ev) seen.push(ev);
            if (ev === 'hello') setTimeout(() => hub.ingest(impostorEvent(1)), 10);
            if (ev === 'decision') {
              req.destroy();
              resolve(/^data: (.*)$/m.exec(msg)?.[1] ?? '');
            }
            i = buf.indexOf('\n\n');
          }
        });
      });
      req.on('error', () => undefined);
      setTimeout(() => reject(new Error(`no decision within 1 s (saw ${seen.join(',')})`)), 1000).unref();
    });
    // The hub's periodic summary/health/waivers refresh may fall between them (seen in a fresh
    // clone's run); the decision itself must come right after the hello, within the second.
    assert.deepEqual(
      seen.filter((e) => e === 'hello' || e === 'decision'),
      ['hello', 'decision'],
    );
    assert.ok(
      seen.every((e) => ['hello', 'decision', 'summary', 'health', 'waivers'].includes(e)),
      seen.join(','),
    );
    const entry = JSON.parse(got) as { id: string; ev: AuditEvent };
    assert.equal(entry.ev.event.reason, 'measurement_mismatch');
    assert.equal(entry.ev.attestation?.closest_identity, 'payments');
    assert.equal(entry.id, eventId(entry.ev));
  });

  it('state.json carries the summary, recent decisions and collateral, and no key material', async () => {
    const r = await get(port, '/console/state.json', auth);
    const s = JSON.parse(r.body);
    assert.equal(s.summary.reasons.measurement_mismatch, s.summary.denied);
    assert.equal(s.health.collateral.entries[0].fmspc, '00906ed50000');
    assert.doesNotMatch(r.body, /PRIVATE KEY|BEGIN /);
  });
});

describe('console tally and audit tap', () => {
  it('counts per identity, reason and minute; reloads set the policy hash', () => {
    const t = new Tally();
    const ok = buildAuditEvent({
      decision: { accept: true, identity: 'payments', policyHash: 'cd'.repeat(32) } as never,
      at: AT,
    });
    t.add(ok);
    t.add(impostorEvent(0));
    t.add(impostorEvent(70_000));
    t.add(buildPolicyReloadEvent({ ok: true, hash: 'ef'.repeat(32), source: 'policy.yaml', at: AT }));
    const s = t.summary();
    assert.equal(s.total, 3);
    assert.equal(s.allowed, 1);
    assert.equal(s.denied, 2);
    assert.deepEqual(s.reasons, { accepted: 1, measurement_mismatch: 2 });
    assert.deepEqual(
      s.identities.map((r) => [r.name, r.allowed, r.denied]),
      [['payments', 1, 2]],
    );
    assert.equal(s.policyHash, 'ef'.repeat(32));
    assert.equal(s.reloads.length, 1);
    assert.deepEqual(
      s.timeline.map((b) => [b.allowed, b.denied]),
      [
        [1, 1],
        [0, 1],
      ],
    );
  });

  it('the page script compiles (a syntax error would only show as a blank page in the browser tests)', () => {
    // Compiled, never run: the Function constructor parses the body without calling it.
    assert.doesNotThrow(() => new Function(CONSOLE_JS));
  });

  it('a throwing tap never stops the audit write', () => {
    const written: AuditEvent[] = [];
    const audit = tapAudit(createAuditLog({ sink: { callback: (e) => written.push(e) } }), () => {
      throw new Error('view broke');
    });
    audit.write(impostorEvent(2));
    audit.recordPolicyReload({ ok: true, hash: 'ab'.repeat(32) });
    assert.equal(written.length, 2);
  });

  it('keeps a bounded ring of recent decisions', () => {
    const hub = new ConsoleHub();
    for (let i = 0; i < 600; i++) hub.ingest(impostorEvent(i));
    assert.equal(hub.recent().length, 500);
    assert.equal(hub.summary().denied, 600);
    const last = hub.recent()[499];
    assert.ok(last && hub.find(last.id));
    hub.close();
  });
});
