import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runCli, spawnCli } from '@ratls/test-support/run-cli';
import { dcapCases, readVector, SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';

describe('ratls verify-quote', { skip: SKIP_NO_VECTORS }, () => {
  for (const c of dcapCases()) {
    test(`${c.name} → ${c.expect.ok ? 'verified' : 'refused'}`, async () => {
      const r = await runCli([
        'verify-quote',
        vectorPath(c.quote),
        '--collateral',
        vectorPath(c.collateral),
        '--at',
        String(c.at),
        '--json',
      ]);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      assert.equal(out.ok, c.expect.ok, r.stdout);
      if (c.expect.ok) {
        assert.equal(r.code, 0);
        assert.equal(out.platformTcbStatus, c.expect.platformTcb);
        assert.equal(out.tcbStatus, c.expect.tcbStatus);
        assert.deepEqual(out.advisoryIds, c.expect.advisoryIds);
      } else {
        assert.equal(r.code, 1);
        assert.equal((out.error as { code: string }).code, 'ERR_TCB_NOT_SUPPORTED');
      }
    });
  }

  test('hex text quote with 0x prefix is accepted at the edge', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ratls-cli-'));
    const c = dcapCases().find((x) => x.expect.ok && x.tee === 'SGX')!;
    const hexFile = join(dir, 'quote.hex');
    writeFileSync(hexFile, `0x${Buffer.from(readVector(c.quote)).toString('hex')}\n`);
    const r = await runCli(['verify-quote', hexFile, '--collateral', vectorPath(c.collateral), '--at', String(c.at)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TCB status/);
    assert.match(r.stdout, new RegExp(String(c.identity.mrenclave)));
  });

  test('expired collateral is refused (exit 1) with a readable error on stderr', async () => {
    const c = dcapCases().find((x) => x.expect.ok)!;
    const r = await runCli([
      'verify-quote',
      vectorPath(c.quote),
      '--collateral',
      vectorPath(c.collateral),
      '--at',
      String(c.window[1] + 1),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^refused: ERR_/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  test('usage errors exit 2: missing collateral, bad --at, unreadable file, bad hex', async () => {
    const c = dcapCases()[0]!;
    assert.equal((await runCli(['verify-quote', vectorPath(c.quote)])).code, 2);
    assert.equal(
      (
        await runCli([
          'verify-quote',
          vectorPath(c.quote),
          '--collateral',
          vectorPath(c.collateral),
          '--at',
          'yesterday',
        ])
      ).code,
      2,
    );
    assert.equal(
      (await runCli(['verify-quote', '/nonexistent/quote', '--collateral', vectorPath(c.collateral)])).code,
      2,
    );
    const dir = mkdtempSync(join(tmpdir(), 'ratls-cli-'));
    writeFileSync(join(dir, 'q.txt'), 'not hex at all\n');
    assert.equal(
      (await runCli(['verify-quote', join(dir, 'q.txt'), '--collateral', vectorPath(c.collateral)])).code,
      2,
    );
    assert.equal((await runCli(['no-such-command'])).code, 2);
  });

  test('the real process exits 0 / 1 / 2', async () => {
    const ok = dcapCases().find((x) => x.expect.ok)!;
    const bad = dcapCases().find((x) => !x.expect.ok)!;
    const a = await spawnCli([
      'verify-quote',
      vectorPath(ok.quote),
      '--collateral',
      vectorPath(ok.collateral),
      '--at',
      String(ok.at),
    ]);
    assert.equal(a.code, 0, a.stderr);
    const b = await spawnCli([
      'verify-quote',
      vectorPath(bad.quote),
      '--collateral',
      vectorPath(bad.collateral),
      '--at',
      String(bad.at),
    ]);
    assert.equal(b.code, 1);
    const c = await spawnCli(['verify-quote']);
    assert.equal(c.code, 2);
  });
});
