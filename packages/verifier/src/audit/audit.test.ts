import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PolicyError } from '@ratls/evidence';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import { evaluatePolicy } from '../policy/evaluate.js';
import { parsePolicy } from '../policy/parse.js';
import { PolicyStore } from '../policy/store.js';
import type { SgxResult } from '../result.js';
import { type AuditEvent, buildConnectionCloseEvent } from './event.js';
import { auditPolicyReloads, createAuditLog } from './log.js';

const h = (bytes: number, c = 'ab') => c.repeat(bytes);
const AT = new Date('2026-01-02T03:04:05.000Z');
const POLICY = parsePolicy(`version: 1\nidentities:\n  - name: payments\n    sgx: { mrEnclave: "${h(32, '33')}" }\n`);

function sgx(mrEnclave: string): SgxResult {
  return forgeVerifiedResult<SgxResult>({
    tee: 'sgx',
    simulated: false,
    evidenceSha256: h(32, 'ee'),
    debug: false,
    collateralWindow: { notBefore: 0, notAfter: 2e9 },
    quoteVersion: 3,
    tcbStatus: 'SWHardeningNeeded',
    platformTcbStatus: 'SWHardeningNeeded',
    qeTcbStatus: 'UpToDate',
    advisoryIds: ['INTEL-SA-00334'],
    fmspc: '00906ed50000',
    measurements: {
      mrEnclave,
      mrSigner: h(32, '81'),
      isvProdId: 0,
      isvSvn: 2,
      attributes: h(16, '07'),
      reportData: h(64, '00'),
    },
  });
}

function capture() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => {
    text += c.toString('utf8');
  });
  return { stream, lines: () => text.split('\n').filter((l) => l !== '') };
}

function withoutReportData<T extends { reportData: string }>(m: T): Omit<T, 'reportData'> {
  const { reportData: _r, ...rest } = m;
  return rest;
}

describe('audit log', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ratls-audit-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes exactly one ECS line per accepted decision, with every field', async () => {
    const c = capture();
    const log = createAuditLog({ sink: { stream: c.stream } });
    const result = sgx(h(32, '33'));
    const decision = evaluatePolicy(POLICY, result, { at: 1 });
    const ev = log.record({
      decision,
      result,
      format: 'dice',
      listener: 'vault',
      peer: { ip: '10.0.0.7', port: 51234, certSha256: h(32, 'CD'), role: 'client' },
      local: { port: 8443 },
      at: AT,
    });
    await log.flush();
    const lines = c.lines();
    assert.equal(lines.length, 1);
    const parsed = JSON.parse(lines[0] as string) as AuditEvent;
    assert.deepEqual(parsed, ev);
    assert.deepEqual(parsed, {
      '@timestamp': '2026-01-02T03:04:05.000Z',
      ecs: { version: '8.11.0' },
      event: {
        kind: 'event',
        category: ['network'],
        type: ['allowed'],
        action: 'ratls-handshake',
        reason: 'accepted',
        outcome: 'success',
      },
      message: 'ratls-handshake allowed 10.0.0.7:51234 as payments (sgx)',
      source: { ip: '10.0.0.7', port: 51234 },
      destination: { port: 8443 },
      tls: { client: { hash: { sha256: h(32, 'cd') } } },
      labels: { listener: 'vault' },
      attestation: {
        format: 'dice',
        tee: 'sgx',
        simulated: false,
        debug: false,
        quote_sha256: h(32, 'ee'),
        mr_enclave: h(32, '33'),
        mr_signer: h(32, '81'),
        isv_prod_id: 0,
        isv_svn: 2,
        tcb_status: 'SWHardeningNeeded',
        advisory_ids: ['INTEL-SA-00334'],
        policy_hash: POLICY.hash,
        identity: 'payments',
      },
      trace: {
        v: 1,
        at: AT.getTime() / 1000,
        steps: [
          { step: 'certificate', ok: true },
          { step: 'binding', ok: true },
          { step: 'appraisal', ok: true },
          { step: 'policy', ok: true },
        ],
        decidedBy: { identity: 'payments' },
        collateral: { fmspc: '00906ed50000' },
        // Everything the policy reads; not the report data (the key binding is never logged).
        attestation: { v: 1, ...result, measurements: { ...withoutReportData(result.measurements) } },
      },
    });
    await log.close();
  });

  it('marks an unknown measurement as measurement_mismatch with the closest identity', () => {
    const events: AuditEvent[] = [];
    const log = createAuditLog({ sink: { callback: (e) => events.push(e) }, now: () => AT });
    const result = sgx(h(32, '08'));
    log.record({
      decision: evaluatePolicy(POLICY, result, { at: 1 }),
      result,
      peer: { ip: '::1', port: 1, role: 'server' },
    });
    assert.equal(events.length, 1);
    const ev = events[0] as AuditEvent;
    assert.equal(ev['@timestamp'], AT.toISOString());
    assert.deepEqual(ev.event.type, ['denied']);
    assert.equal(ev.event.reason, 'measurement_mismatch');
    assert.equal(ev.event.outcome, 'failure');
    assert.equal(ev.error?.code, 'ERR_POLICY_REJECTED');
    assert.equal(ev.attestation?.closest_identity, 'payments');
    assert.deepEqual(ev.destination, { ip: '::1', port: 1 });
    assert.equal(ev.source, undefined);
    assert.match(
      ev.message,
      /^ratls-handshake denied \[::1\]:1 \(sgx\): measurement_mismatch: no sgx identity matched/,
    );
  });

  it('records verification errors with their code, bounded, and without a decision', () => {
    const events: AuditEvent[] = [];
    const log = createAuditLog({ sink: { callback: (e) => events.push(e) } });
    const err = new PolicyError('ERR_QUOTE_TRUNCATED', 'parse', 'x'.repeat(5000));
    const ev = log.record({ error: err, peer: { ip: '10.0.0.1' } });
    assert.equal(ev.event.reason, 'verification_failed');
    assert.equal(ev.error?.code, 'ERR_QUOTE_TRUNCATED');
    assert.equal(ev.error?.message.length, 1024);
    assert.ok(ev.message.length <= 1024);
    assert.equal(Object.hasOwn(ev.error ?? {}, 'stack'), false);
    const none = log.record({});
    assert.equal(none.event.reason, 'no_decision');
    assert.deepEqual(none.event.type, ['denied']);
  });

  it('records policy reloads, success and failure', () => {
    const events: AuditEvent[] = [];
    const log = createAuditLog({ sink: { callback: (e) => events.push(e) } });
    const ok = log.recordPolicyReload({ ok: true, hash: h(32, '11'), previousHash: h(32, '22'), source: 'p.yaml' });
    assert.deepEqual(ok.event, {
      kind: 'event',
      category: ['configuration'],
      type: ['change'],
      action: 'policy-reload',
      reason: 'reloaded',
      outcome: 'success',
    });
    assert.equal(ok.message, 'policy p.yaml reloaded: 222222222222 → 111111111111');
    const bad = log.recordPolicyReload({
      ok: false,
      hash: h(32, '11'),
      source: 'p.yaml',
      error: { code: 'ERR_POLICY_INVALID', message: 'p.yaml:3:1: bad' },
    });
    assert.equal(bad.event.reason, 'reload_failed');
    assert.equal(bad.error?.code, 'ERR_POLICY_INVALID');
    assert.equal(events.length, 2);
  });

  it('records forwarded and refused HTTP requests as ratls-http-request events, bounded', () => {
    const events: AuditEvent[] = [];
    const log = createAuditLog({ sink: { callback: (e) => events.push(e) } });
    const ok = log.recordHttpRequest({
      listener: 'api',
      peer: { ip: '10.0.0.7', port: 5 },
      identity: 'payments',
      method: 'POST',
      target: '/a/./b?q=1',
      forwardedPath: '/v1/a/b',
      forwardedQuery: '?q=1',
      status: 201,
      requestBytes: 3,
      responseBytes: 7,
      at: AT,
    });
    assert.deepEqual(ok, {
      '@timestamp': AT.toISOString(),
      ecs: { version: '8.11.0' },
      event: {
        kind: 'event',
        category: ['network', 'web'],
        type: ['allowed'],
        action: 'ratls-http-request',
        reason: 'forwarded',
        outcome: 'success',
      },
      message: 'ratls-http-request 10.0.0.7:5 as payments: POST /v1/a/b → 201',
      source: { ip: '10.0.0.7', port: 5 },
      http: { request: { method: 'POST', bytes: 3 }, response: { status_code: 201, bytes: 7 } },
      url: { path: '/v1/a/b', query: 'q=1', original: '/a/./b?q=1' },
      labels: { listener: 'api' },
      attestation: { identity: 'payments' },
    });
    const bad = log.recordHttpRequest({
      identity: 'payments',
      method: 'GET',
      target: `/../${'x'.repeat(5000)}`,
      status: 400,
      refusal: { reason: 'path_escapes_base', code: 'ERR_HTTP_PATH_ESCAPES_BASE', message: 'climbs above the base' },
    });
    assert.deepEqual(bad.event.type, ['denied']);
    assert.equal(bad.event.reason, 'path_escapes_base');
    assert.equal(bad.event.outcome, 'failure');
    assert.equal(bad.error?.code, 'ERR_HTTP_PATH_ESCAPES_BASE');
    assert.equal(bad.url?.original?.length, 1024);
    assert.equal(bad.url?.path, undefined);
    assert.ok(bad.message.length <= 1024);
    assert.equal(events.length, 2);
  });

  it('file sink appends, is created 0600, flushes on close, and drops records after close', async () => {
    const file = join(dir, 'audit.jsonl');
    for (let round = 0; round < 2; round++) {
      const log = createAuditLog({ sink: { file } });
      log.record({ error: { code: 'ERR_X', message: `round ${round}` }, at: AT });
      log.record({ decision: evaluatePolicy(POLICY, sgx(h(32, '33')), { at: 1 }), at: AT });
      await log.close();
      log.record({ error: { code: 'ERR_AFTER_CLOSE', message: 'dropped' } });
    }
    const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    assert.equal(lines.length, 4);
    const events = lines.map((l) => JSON.parse(l) as AuditEvent);
    assert.deepEqual(
      events.map((e) => e.event.reason),
      ['verification_failed', 'accepted', 'verification_failed', 'accepted'],
    );
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  });

  it('refuses an unusable file sink with ERR_AUDIT_SINK', () => {
    assert.throws(
      () => createAuditLog({ sink: { file: join(dir, 'no', 'such', 'dir', 'a.log') } }),
      (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'ERR_AUDIT_SINK',
    );
  });

  it('auditPolicyReloads records successful and failed reloads of a store', async () => {
    const file = join(dir, 'policy.yaml');
    const text = `version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${h(32)}" }\n`;
    await writeFile(file, text);
    const store = new PolicyStore();
    const first = await store.load(file);
    const events: AuditEvent[] = [];
    const detach = auditPolicyReloads(createAuditLog({ sink: { callback: (e) => events.push(e) } }), store);
    await writeFile(file, `${text}# edited\n`);
    await store.reload();
    await writeFile(file, 'version: 3\n');
    await store.reload();
    detach();
    await store.reload();
    assert.deepEqual(
      events.map((e) => [e.event.reason, e.error?.code]),
      [
        ['reloaded', undefined],
        ['reload_failed', 'ERR_POLICY_INVALID'],
      ],
    );
    assert.notEqual(events[0]?.attestation?.policy_hash, first.hash);
    assert.equal(events[1]?.attestation?.policy_hash, events[0]?.attestation?.policy_hash);
  });

  it('stdout sink writes one line per record (child process)', () => {
    const logModule = fileURLToPath(new URL('./log.ts', import.meta.url));
    const script = `import { createAuditLog } from ${JSON.stringify(logModule)};
const a = createAuditLog({ sink: 'stdout' });
a.record({ error: { code: 'ERR_X', message: 'line\\nbreak' }, at: new Date(0) });
a.record({ at: new Date(0) });
await a.close();`;
    const r = spawnSync(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', '--input-type=module', '-e', script],
      {
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0] as string) as AuditEvent;
    assert.equal(first.error?.message, 'line\nbreak');
    assert.equal((JSON.parse(lines[1] as string) as AuditEvent).event.reason, 'no_decision');
  });
});

describe('audit log: rotation and connection-close events (issue 16)', () => {
  it('reopen() after a rename writes new events to a new file at the path, none to the renamed one', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ratls-audit-rot-'));
    try {
      const file = join(d, 'audit.jsonl');
      const log = createAuditLog({ sink: { file } });
      log.record({ error: { code: 'ERR_X', message: 'before' }, at: AT });
      await rename(file, `${file}.1`);
      await log.reopen();
      log.record({ error: { code: 'ERR_X', message: 'after' }, at: AT });
      await log.close();
      const read = async (p: string) => (await readFile(p, 'utf8')).split('\n').filter(Boolean);
      assert.deepEqual(
        (await read(`${file}.1`)).map((l) => (JSON.parse(l) as AuditEvent).error?.message),
        ['before'],
      );
      assert.deepEqual(
        (await read(file)).map((l) => (JSON.parse(l) as AuditEvent).error?.message),
        ['after'],
      );
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it('reopen() that cannot open the path fails with ERR_AUDIT_SINK and keeps writing to the old file', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ratls-audit-rot-'));
    try {
      const sub = join(d, 'logs');
      await mkdir(sub);
      const file = join(sub, 'audit.jsonl');
      const log = createAuditLog({ sink: { file } });
      await rename(sub, join(d, 'moved'));
      await assert.rejects(log.reopen(), (e: unknown) => (e as { code?: string }).code === 'ERR_AUDIT_SINK');
      log.record({ error: { code: 'ERR_X', message: 'still logged' }, at: AT });
      await log.close();
      assert.match(await readFile(join(d, 'moved', 'audit.jsonl'), 'utf8'), /still logged/);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it('reopen() is a no-op for callback and stream sinks', async () => {
    const seen: AuditEvent[] = [];
    const log = createAuditLog({ sink: { callback: (e) => seen.push(e) } });
    await log.reopen();
    log.recordConnectionClose({ bytesIn: 1, bytesOut: 2, durationMs: 3, at: AT });
    assert.equal(seen.length, 1);
  });

  it('connection-close events carry bytes, duration and endpoints, bounded and never negative', () => {
    const ev = buildConnectionCloseEvent({
      listener: 'api',
      peer: { ip: '10.0.0.7', port: 51234 },
      local: { ip: '10.0.0.2', port: 8443 },
      identity: 'payments',
      bytesIn: 120,
      bytesOut: 4096,
      durationMs: 35.5,
      closedBy: 'gateway',
      at: AT,
    });
    assert.equal(ev.event.action, 'ratls-connection-close');
    assert.equal(ev.event.reason, 'closed_by_gateway');
    assert.deepEqual(ev.event.type, ['end']);
    assert.equal(ev.event.duration, 35_500_000);
    assert.deepEqual(ev.source, { ip: '10.0.0.7', port: 51234, bytes: 120 });
    assert.deepEqual(ev.destination, { ip: '10.0.0.2', port: 8443, bytes: 4096 });
    assert.equal(ev.attestation?.identity, 'payments');
    const odd = buildConnectionCloseEvent({ bytesIn: -1, bytesOut: Number.NaN, durationMs: -5, at: AT });
    assert.equal(odd.source?.bytes, 0);
    assert.equal(odd.destination?.bytes, 0);
    assert.equal(odd.event.duration, 0);
    assert.equal(odd.event.reason, 'closed');
  });
});
