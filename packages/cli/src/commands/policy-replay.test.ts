/**
 * `ratls policy replay` end to end: a real gateway process (simulated enclaves) records decisions
 * for several identities and refusals; the replay of that audit log against a candidate policy must
 * report exactly the changes the same gateway then decides live under the candidate (hot reload).
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
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
import { runCli, spawnCli } from '@ratls/test-support/run-cli';

const MRE = { alpha: '11'.repeat(32), beta: '22'.repeat(32), gamma: '33'.repeat(32), other: '44'.repeat(32) };
const PEERS = ['alpha', 'beta2', 'beta5', 'gamma', 'impostor', 'debug'] as const;
type Peer = (typeof PEERS)[number];

const LIVE = `version: 1
defaults:
  simulated: true   # the simulator's root: tests only
identities:
  - name: alpha
    sgx: { mrEnclave: ["${MRE.alpha}"] }
  - name: beta
    sgx: { mrEnclave: ["${MRE.beta}"], minIsvSvn: 1 }
  - name: gamma
    sgx: { mrEnclave: ["${MRE.gamma}"] }
`;
// Drops gamma, tightens beta's minIsvSvn from 1 to 3.
const CANDIDATE = `version: 1
defaults:
  simulated: true   # the simulator's root: tests only
identities:
  - name: alpha
    sgx: { mrEnclave: ["${MRE.alpha}"] }
  - name: beta
    sgx: { mrEnclave: ["${MRE.beta}"], minIsvSvn: 3 }
`;

interface Event {
  event: { action: string; reason: string; outcome: string };
  attestation?: { identity?: string; quote_sha256?: string; policy_hash?: string };
  trace?: { attestation?: { evidenceSha256: string } };
}
interface JsonReport {
  time: string | number;
  counts: Record<string, number>;
  changes: {
    kind: string;
    evidenceSha256: string;
    before: { accept: boolean };
    after: { accept: boolean; identity?: string; reason: string };
  }[];
  problems: { line: number; code: string }[];
}

describe('ratls policy replay against a recorded gateway run', {
  skip: haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let dir: string;
  let backend: EchoBackend;
  let gw: GatewayProcess;
  let certs: Record<Peer, { cert: string; key: string }>;
  let auditPath: string;
  let recorded: string;

  const events = (): Event[] =>
    readFileSync(auditPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Event);
  const curl = (who: Peer) =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '15',
      '--cert',
      certs[who].cert,
      '--key',
      certs[who].key,
      `https://127.0.0.1:${gw.addresses.api}/`,
    ]);
  /** One handshake per peer, in order; returns each peer's decision as the gateway logged it. */
  async function connectAll(): Promise<Map<string, { accept: boolean; identity?: string; reason: string }>> {
    const n = events().length;
    for (const who of PEERS) await curl(who);
    const out = new Map<string, { accept: boolean; identity?: string; reason: string }>();
    const hs = events()
      .slice(n)
      .filter((e) => e.event.action === 'ratls-handshake');
    assert.equal(hs.length, PEERS.length);
    for (const e of hs) {
      const sha = e.attestation?.quote_sha256 as string;
      out.set(sha, {
        accept: e.event.outcome === 'success',
        ...(e.attestation?.identity && e.event.outcome === 'success' ? { identity: e.attestation.identity } : {}),
        reason: e.event.reason,
      });
    }
    return out;
  }

  let before1: Map<string, { accept: boolean; identity?: string; reason: string }>;
  let after1: Map<string, { accept: boolean; identity?: string; reason: string }>;

  before(async () => {
    dir = tempDir('ratls-replay-');
    ({ certs } = await simulatedFleet(
      dir,
      {
        alpha: { mrEnclave: MRE.alpha },
        beta2: { mrEnclave: MRE.beta, isvSvn: 2 },
        beta5: { mrEnclave: MRE.beta, isvSvn: 5 },
        gamma: { mrEnclave: MRE.gamma },
        impostor: { mrEnclave: MRE.other },
        debug: { mrEnclave: MRE.alpha, debug: true },
      },
      { mrEnclave: MRE.alpha },
    ));
    backend = await echoBackend();
    writeFile(dir, 'policy.yaml', LIVE);
    auditPath = join(dir, 'audit.jsonl');
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
limits: { handshakeTimeoutMs: 15000, drainTimeoutMs: 2000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'));
    before1 = await connectAll();
    recorded = writeFile(dir, 'recorded.jsonl', readFileSync(auditPath, 'utf8'));
    // The live check: the same gateway, the candidate policy (hot reload), the same peers.
    writeFile(dir, 'policy.yaml', CANDIDATE);
    gw.child.kill('SIGHUP');
    const deadline = Date.now() + 20_000;
    while (!events().some((e) => e.event.action === 'policy-reload' && e.event.reason === 'reloaded')) {
      if (Date.now() > deadline) throw new Error(`policy reload not seen:\n${gw.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    after1 = await connectAll();
    writeFile(dir, 'candidate.yaml', CANDIDATE);
  });

  after(async () => {
    await gw?.stop('SIGKILL');
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the recorded run has several identities and refusals', () => {
    const outcomes = [...before1.values()].map((d) => d.identity ?? d.reason).sort();
    assert.deepEqual(outcomes, ['alpha', 'beta', 'beta', 'debug_not_allowed', 'gamma', 'measurement_mismatch']);
  });

  it('replay (spawned, --json) reports exactly the changes the live gateway made under the candidate, exit 1', async () => {
    const r = await spawnCli(
      ['policy', 'replay', '--audit', recorded, '--policy', join(dir, 'candidate.yaml'), '--json'],
      {
        timeoutMs: 60_000,
      },
    );
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout) as JsonReport;
    assert.equal(report.time, 'recorded');
    assert.deepEqual(report.problems, []);
    // What the live gateway changed, per evidence: old decision vs new decision.
    const live = new Map<string, { accept: boolean; identity?: string; reason: string }>();
    for (const [sha, was] of before1) {
      const now = after1.get(sha);
      assert.ok(now, `no live decision under the candidate for ${sha}`);
      const changed = was.accept !== now.accept || (was.accept && was.identity !== now.identity);
      if (changed) live.set(sha, now);
    }
    assert.equal(live.size, 2, 'the candidate must refuse beta isvSvn 2 and gamma live');
    const replayed = new Map(report.changes.map((c) => [c.evidenceSha256, c.after]));
    assert.deepEqual(
      [...replayed.keys()].sort(),
      [...live.keys()].sort(),
      'replay and the live run disagree on which decisions change',
    );
    for (const [sha, now] of live) {
      const a = replayed.get(sha);
      assert.equal(a?.accept, now.accept);
      assert.equal(a?.reason, now.reason);
    }
    assert.deepEqual(
      report.changes.map((c) => c.kind),
      ['accept→refuse', 'accept→refuse'],
    );
    assert.equal(report.counts.acceptToRefuse, 2);
    assert.equal(report.counts.unchanged, 4);
    // The forwarded requests' own events are not decisions.
    const others = readFileSync(recorded, 'utf8')
      .split('\n')
      .filter((l) => l && !l.includes('"ratls-handshake"')).length;
    assert.equal(report.counts.otherEvents, others);
  });

  it('the text report says which time it used and names the change; the live-under-candidate log replays clean', async () => {
    const text = await runCli(['policy', 'replay', '--audit', recorded, '--policy', join(dir, 'candidate.yaml')]);
    assert.equal(text.code, 1);
    assert.match(text.stdout, /each event at its recorded decision time/);
    assert.match(text.stdout, /accept→refuse 2, refuse→accept 0, identity renamed 0, unchanged 4/);
    assert.match(text.stdout, /was accepted as gamma, would be refused \(measurement_mismatch/);
    assert.match(text.stdout, /isvSvn 2 < 3/);
    // The whole log (both runs and the reload) against the candidate: the second half already agrees.
    const whole = await runCli([
      'policy',
      'replay',
      '--audit',
      auditPath,
      '--policy',
      join(dir, 'candidate.yaml'),
      '--json',
    ]);
    const rep = JSON.parse(whole.stdout) as JsonReport;
    assert.equal(rep.counts.acceptToRefuse, 2);
    assert.equal(rep.counts.otherEvents, events().filter((e) => e.event.action !== 'ratls-handshake').length);
    assert.equal(rep.counts.unchanged, 10);
    const at = await runCli([
      'policy',
      'replay',
      '--audit',
      recorded,
      '--policy',
      join(dir, 'candidate.yaml'),
      '--at',
      '1700000000',
    ]);
    assert.match(at.stdout, /every event at 2023-11-14T22:13:20\.000Z \(--at\)/);
  });

  it('a corrupted audit file is reported line by line, not a crash; a missing one is a usage error', async () => {
    const lines = readFileSync(recorded, 'utf8').split('\n').filter(Boolean);
    const bad = writeFile(
      dir,
      'corrupt.jsonl',
      `${lines[0]}\n${(lines[1] ?? '').slice(0, 200)}\nnot json at all\n{"msg":"foreign"}\n${'y'.repeat(70_000)}\n`,
    );
    const r = await runCli(['policy', 'replay', '--audit', bad, '--policy', join(dir, 'candidate.yaml'), '--json']);
    const rep = JSON.parse(r.stdout) as JsonReport;
    assert.deepEqual(
      rep.problems.map((p) => [p.line, p.code]),
      [
        [2, 'ERR_REPLAY_LINE_MALFORMED'],
        [3, 'ERR_REPLAY_LINE_MALFORMED'],
        [4, 'ERR_REPLAY_LINE_FOREIGN'],
        [5, 'ERR_REPLAY_LINE_MALFORMED'],
      ],
    );
    assert.equal(rep.counts.replayed, 1);
    const missing = await runCli([
      'policy',
      'replay',
      '--audit',
      join(dir, 'nope.jsonl'),
      '--policy',
      join(dir, 'candidate.yaml'),
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /ERR_INPUT_UNREADABLE|cannot read audit log/);
  });

  it('a handshake event with its trace stays compact (bytes per event)', () => {
    const hs = readFileSync(recorded, 'utf8')
      .split('\n')
      .filter((l) => l.includes('"ratls-handshake"'));
    const sizes = hs.map((l) => Buffer.byteLength(l));
    const traceSizes = hs.map((l) => Buffer.byteLength(JSON.stringify((JSON.parse(l) as { trace: unknown }).trace)));
    // Measured, not tuned: printed for the issue note; the bound is the replay line limit's 1/16.
    console.log(`audit bytes per handshake event: max ${Math.max(...sizes)}, trace max ${Math.max(...traceSizes)}`);
    assert.ok(Math.max(...sizes) < 4096);
  });
});
