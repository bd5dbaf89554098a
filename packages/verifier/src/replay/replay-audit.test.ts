import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import { buildAuditEvent } from '../audit/event.js';
import * as root from '../index.js';
import type { IdentityCheck } from '../policy/claims.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import { parsePolicy } from '../policy/parse.js';
import type { Policy } from '../policy/types.js';
import type { AttestationResult, NitroResult, SgxResult, SnpResult, TdxResult } from '../result.js';
import { type BoundedLine, boundedLines } from './read-lines.js';
import { parseRecordedAttestation } from './recorded-attestation.js';
import { replayAudit } from './replay-audit.js';

const AT = 1_750_000_000;
const MRE_A = '33'.repeat(32);
const MRE_B = '44'.repeat(32);
const MRS = '81'.repeat(32);

const policy = (body: string): Policy =>
  parsePolicy(`version: 1\ndefaults: { simulated: true }\nidentities:\n${body}`, { source: 'p.yaml' });
const LIVE = policy(
  `  - name: alpha\n    sgx: { mrEnclave: ["${MRE_A}"] }\n  - name: family\n    sgx: { mrSigner: "${MRS}", minIsvSvn: 2 }\n`,
);

function sgx(mrEnclave: string, isvSvn: number): SgxResult {
  return forgeVerifiedResult<SgxResult>({
    tee: 'sgx',
    simulated: true,
    evidenceSha256: mrEnclave.slice(0, 2).repeat(32),
    debug: false,
    collateralWindow: { notBefore: AT - 1000, notAfter: AT + 100_000 },
    quoteVersion: 3,
    tcbStatus: 'UpToDate',
    platformTcbStatus: 'UpToDate',
    qeTcbStatus: 'UpToDate',
    advisoryIds: [],
    fmspc: '00906ed50000',
    tcbDate: '2024-03-13T00:00:00Z',
    collateralVersions: { tcbInfoIssueDate: AT - 500, qeIdentityIssueDate: AT - 400, tcbEvaluationDataNumber: 17 },
    measurements: {
      mrEnclave,
      mrSigner: MRS,
      isvProdId: 0,
      isvSvn,
      attributes: '07'.padEnd(32, '0'),
      reportData: '00'.repeat(64),
    },
  });
}

/** A handshake audit line exactly as the live path writes it (evaluatePolicy with checks → buildAuditEvent). */
function liveLine(p: Policy, r: AttestationResult, at = AT, notBefore = AT - 60): string {
  const checks: IdentityCheck[] = [];
  const decision = evaluatePolicy(p, r, { at, checks, certificate: { notBefore } });
  const ev = buildAuditEvent({
    decision,
    result: r,
    checks,
    certificate: { notBefore },
    peer: { ip: '127.0.0.1', port: 4000 },
    listener: 'api',
    at: new Date(at * 1000),
  });
  return JSON.stringify(ev);
}

const asLines = (texts: string[]): BoundedLine[] => texts.map((text, i) => ({ n: i + 1, text, tooLong: false }));

describe('decision trace', () => {
  it('records steps, the deciding identity, the identities tried, collateral versions and a versioned result', () => {
    const ev = JSON.parse(liveLine(LIVE, sgx(MRE_B, 3)));
    assert.equal(ev.trace.v, 1);
    assert.equal(ev.trace.at, AT);
    assert.deepEqual(
      ev.trace.steps.map((s: { step: string; ok: boolean }) => `${s.step}:${s.ok}`),
      ['certificate:true', 'binding:true', 'appraisal:true', 'policy:true'],
    );
    assert.deepEqual(ev.trace.policy, [{ id: 'alpha', f: ['mrEnclave'] }, { id: 'family' }]);
    assert.deepEqual(ev.trace.decidedBy, { identity: 'family' });
    assert.deepEqual(ev.trace.collateral, {
      fmspc: '00906ed50000',
      tcbEvaluationDataNumber: 17,
      tcbInfoIssueDate: AT - 500,
      qeIdentityIssueDate: AT - 400,
      tcbDate: '2024-03-13T00:00:00Z',
    });
    assert.equal(ev.trace.attestation.v, 1);
    assert.equal(ev.trace.attestation.measurements.isvSvn, 3);
    assert.equal(ev.trace.certNotBefore, AT - 60);
  });

  it('names the field that refused: the closest identity and its first differing field', () => {
    const ev = JSON.parse(liveLine(LIVE, sgx(MRE_B, 1)));
    assert.deepEqual(ev.trace.decidedBy, { identity: 'family', field: 'isvSvn' });
    assert.deepEqual(ev.trace.steps.at(-1), { step: 'policy', ok: false, code: 'measurement_mismatch' });
  });

  it('a verification failure records the failing step and code, and no attestation', () => {
    const ev = buildAuditEvent({ error: { code: 'ERR_QUOTE_SIGNATURE', message: 'x' }, at: new Date(AT * 1000) });
    assert.equal(ev.trace?.steps.length, 1);
    assert.equal(ev.trace?.steps[0]?.code, 'ERR_QUOTE_SIGNATURE');
    assert.equal(ev.trace?.steps[0]?.ok, false);
    assert.equal(ev.trace?.attestation, undefined);
  });
});

describe('replayAudit', () => {
  const lines = () => [
    liveLine(LIVE, sgx(MRE_A, 1)), // alpha
    liveLine(LIVE, sgx(MRE_B, 2)), // family, isvSvn 2
    liveLine(LIVE, sgx(MRE_B, 5)), // family, isvSvn 5
    liveLine(LIVE, sgx('55'.repeat(32), 1)), // refused: family needs isvSvn ≥ 2
  ];

  it('the same policy changes nothing', async () => {
    const r = await replayAudit(asLines(lines()), LIVE);
    assert.equal(r.counts.replayed, 4);
    assert.equal(r.counts.unchanged, 4);
    assert.equal(r.changes.length, 0);
    assert.equal(r.time, 'recorded');
    assert.deepEqual(r.recordedPolicies, [LIVE.hash]);
  });

  it('dropping an identity and tightening minIsvSvn lists accept→refuse with the new reason', async () => {
    const candidate = policy(`  - name: family\n    sgx: { mrSigner: "${MRS}", minIsvSvn: 3 }\n`);
    const r = await replayAudit(asLines(lines()), candidate);
    assert.equal(r.counts.acceptToRefuse, 2);
    assert.equal(r.counts.unchanged, 2);
    assert.deepEqual(
      r.changes.map((c) => [c.line, c.kind, c.before.identity, c.after.reason]),
      [
        [1, 'accept→refuse', 'alpha', 'measurement_mismatch'],
        [2, 'accept→refuse', 'family', 'measurement_mismatch'],
      ],
    );
    assert.match(r.changes[1]?.after.message ?? '', /isvSvn 2 < 3/);
    assert.equal(r.changes[0]?.peer, '127.0.0.1:4000');
  });

  it('reports refuse→accept and identity renames', async () => {
    const candidate = policy(
      `  - name: wide\n    sgx: { mrSigner: "${MRS}" }\n  - name: alpha\n    sgx: { mrEnclave: ["${MRE_A}"] }\n`,
    );
    const r = await replayAudit(asLines(lines()), candidate);
    assert.equal(r.counts.identityRenamed, 3);
    assert.equal(r.counts.refuseToAccept, 1);
    assert.equal(r.counts.acceptToRefuse, 0);
    assert.deepEqual(r.changes[0]?.after, { accept: true, identity: 'wide', reason: 'accepted' });
  });

  it('evaluates at the recorded time unless --at says otherwise', async () => {
    const aged = policy(`  - name: alpha\n    sgx: { mrEnclave: ["${MRE_A}"] }\n    maxCertificateAge: 3600\n`);
    const recorded = await replayAudit(asLines([liveLine(LIVE, sgx(MRE_A, 1))]), aged);
    assert.equal(recorded.counts.unchanged, 1);
    const later = await replayAudit(asLines([liveLine(LIVE, sgx(MRE_A, 1))]), aged, { at: AT + 7200 });
    assert.equal(later.time, AT + 7200);
    assert.equal(later.counts.acceptToRefuse, 1);
    assert.equal(later.changes[0]?.after.reason, 'certificate_too_old');
  });

  it('corrupted, foreign and unreadable lines are reported with their codes, never thrown', async () => {
    const good = liveLine(LIVE, sgx(MRE_A, 1));
    const ev = JSON.parse(good);
    const badVersion = JSON.stringify({
      ...ev,
      trace: { ...ev.trace, attestation: { ...ev.trace.attestation, v: 2 } },
    });
    const badField = JSON.stringify({
      ...ev,
      trace: {
        ...ev.trace,
        attestation: { ...ev.trace.attestation, measurements: { ...ev.trace.attestation.measurements, isvSvn: '9' } },
      },
    });
    const noTrace = JSON.stringify({ ...ev, trace: undefined });
    const texts = [
      good,
      '{"truncated": ',
      '[1,2,3]',
      '{"level":30,"msg":"hello from another program"}',
      badVersion,
      badField,
      noTrace,
      'null',
      '',
    ];
    const input: BoundedLine[] = [...asLines(texts), { n: 10, text: '', tooLong: true }];
    const r = await replayAudit(input, LIVE);
    assert.equal(r.counts.replayed, 1);
    assert.deepEqual(
      r.problems.map((p) => [p.line, p.code]),
      [
        [2, 'ERR_REPLAY_LINE_MALFORMED'],
        [3, 'ERR_REPLAY_LINE_MALFORMED'],
        [4, 'ERR_REPLAY_LINE_FOREIGN'],
        [5, 'ERR_REPLAY_RECORD_INVALID'],
        [6, 'ERR_REPLAY_RECORD_INVALID'],
        [7, 'ERR_REPLAY_RECORD_INVALID'],
        [8, 'ERR_REPLAY_LINE_MALFORMED'],
        [10, 'ERR_REPLAY_LINE_MALFORMED'],
      ],
    );
    assert.match(r.problems[3]?.message ?? '', /version 2/);
    assert.match(r.problems[4]?.message ?? '', /measurements\.isvSvn/);
  });

  it("--listener keeps only that listener's decisions", async () => {
    const other = JSON.stringify({ ...JSON.parse(liveLine(LIVE, sgx(MRE_A, 1))), labels: { listener: 'admin' } });
    const candidate = policy(`  - name: family\n    sgx: { mrSigner: "${MRS}", minIsvSvn: 3 }\n`);
    const r = await replayAudit(asLines([other, liveLine(LIVE, sgx(MRE_B, 5))]), candidate, { listener: 'api' });
    assert.equal(r.counts.handshakes, 1);
    assert.equal(r.counts.acceptToRefuse, 0);
    const all = await replayAudit(asLines([other]), candidate, { listener: 'admin' });
    assert.equal(all.counts.acceptToRefuse, 1);
  });

  it('verification failures are counted as not replayable, other events as other events', async () => {
    const failed = JSON.stringify(buildAuditEvent({ error: { code: 'ERR_QUOTE_SIGNATURE', message: 'bad' } }));
    const reload = JSON.stringify({ '@timestamp': 'x', ecs: {}, event: { action: 'policy-reload' } });
    const r = await replayAudit(asLines([failed, reload]), LIVE);
    assert.equal(r.counts.notReplayable, 1);
    assert.equal(r.counts.otherEvents, 1);
    assert.equal(r.counts.problems, 0);
  });
});

describe('recorded claims stay unverified', () => {
  it('evaluatePolicy refuses a parsed recorded attestation with unverified_result', () => {
    const ev = JSON.parse(liveLine(LIVE, sgx(MRE_A, 1)));
    const claims = parseRecordedAttestation(ev.trace.attestation);
    const d = evaluatePolicy(LIVE, claims, { at: AT });
    assert.equal(d.accept, false);
    assert.equal(d.accept === false && d.reasons[0]?.code, 'unverified_result');
  });

  it('the claims evaluator is not public: only replayAudit reaches it from the package root', () => {
    assert.equal('evaluateClaims' in root, false);
    assert.equal(typeof root.replayAudit, 'function');
  });
});

describe('recorded attestation round trip (every TEE)', () => {
  const common = {
    simulated: true,
    debug: false,
    evidenceSha256: 'ab'.repeat(32),
    collateralWindow: { notBefore: AT - 10, notAfter: AT + 10 },
  };
  const dcap = {
    ...common,
    quoteVersion: 4,
    tcbStatus: 'UpToDate' as const,
    platformTcbStatus: 'UpToDate' as const,
    qeTcbStatus: 'UpToDate' as const,
    advisoryIds: ['INTEL-SA-00001'],
    fmspc: '00806f050000',
  };
  const results: AttestationResult[] = [
    forgeVerifiedResult<TdxResult>({
      ...dcap,
      tee: 'tdx',
      tdxModuleTcbStatus: 'UpToDate',
      measurements: {
        mrTd: '91'.repeat(48),
        rtmr0: '00'.repeat(48),
        rtmr1: '00'.repeat(48),
        rtmr2: '00'.repeat(48),
        rtmr3: '00'.repeat(48),
        mrSeam: '5e'.repeat(48),
        tdAttributes: '00'.repeat(8),
        reportData: '77'.repeat(64),
        xfam: 'e7'.padEnd(16, '0'),
      },
    }),
    forgeVerifiedResult<SnpResult>({
      ...common,
      tee: 'sev-snp',
      reportVersion: 3,
      measurements: {
        measurement: '5a'.repeat(48),
        hostData: '00'.repeat(32),
        idKeyDigest: '00'.repeat(48),
        authorKeyDigest: '00'.repeat(48),
        reportData: '77'.repeat(64),
        policy: '30000',
        vmpl: 0,
        reportedTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 },
        chipId: 'c1'.repeat(64),
        signingKey: 'vcek',
        product: 'Milan',
      },
    }),
    forgeVerifiedResult<NitroResult>({
      ...common,
      tee: 'nitro',
      measurements: {
        moduleId: 'i-0abc-enc0',
        digest: 'SHA384',
        pcrs: { '0': 'a0'.repeat(48), '1': 'a1'.repeat(48), '2': 'a2'.repeat(48) },
        publicKey: '04'.repeat(33),
        userData: '77'.repeat(32),
        timestamp: AT * 1000,
      },
    }),
  ];
  const p = policy(
    `  - name: td\n    tdx: { mrTd: "${'91'.repeat(48)}" }\n  - name: vm\n    snp: { measurement: "${'5a'.repeat(48)}", minTcb: { snp: 9 } }\n  - name: enclave\n    nitro: { pcr0: "${'a0'.repeat(48)}" }\n`,
  );

  for (const r of results) {
    it(`${r.tee}: replay decides what the live path decided, and the key binding is not recorded`, async () => {
      const line = liveLine(p, r);
      assert.doesNotMatch(line, /7777777777/, 'report data / user data reached the audit log');
      const rep = await replayAudit(asLines([line]), p);
      assert.deepEqual(rep.problems, []);
      assert.equal(rep.counts.replayed, 1);
      assert.equal(rep.counts.unchanged, 1);
    });
  }
});

describe('boundedLines', () => {
  async function* chunks(parts: string[]) {
    for (const p of parts) yield new TextEncoder().encode(p);
  }
  it('joins lines split across chunks and reports an over-long line without buffering it', async () => {
    const out: BoundedLine[] = [];
    for await (const l of boundedLines(chunks(['ab', 'c\nde', `${'x'.repeat(50)}\nf\r\n`, 'tail']), 10)) out.push(l);
    assert.deepEqual(out, [
      { n: 1, text: 'abc', tooLong: false },
      { n: 2, text: '', tooLong: true },
      { n: 3, text: 'f', tooLong: false },
      { n: 4, text: 'tail', tooLong: false },
    ]);
  });
});
