import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ProviderError } from '@ratls/evidence';
import { readVector, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { ConfigfsTsmProvider, MAX_OUTBLOB_BYTES, tsmReportDir } from './configfs-tsm.js';
import { nodeProviderFs, type ProviderFs } from './fs.js';

const TDX_REPORT_DATA_AT = 568;
const SNP_REPORT_DATA_AT = 0x50;
const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

interface FakeTsm {
  root: string;
  fs: ProviderFs;
  /** Every entry name created, and each entry's inblob/privlevel as written. */
  created: string[];
  inblobs: Uint8Array[];
  privlevels: string[];
}

/**
 * A fake configfs: mkdir populates the entry like the kernel does, writes to inblob/privlevel bump
 * `generation`, reading outblob yields `evidence` with the written inblob at its report-data offset.
 */
async function fakeTsm(opts: {
  provider: string;
  evidence: Uint8Array;
  reportDataAt: number;
  aux?: Uint8Array;
  /** Extra generation bumps on outblob read: a concurrent writer. */
  raceBumps?: number;
  failOutblob?: boolean;
  privlevelFloor?: number;
}): Promise<FakeTsm> {
  const root = await mkdtemp(join(tmpdir(), 'ratls-tsm-'));
  roots.push(root);
  await mkdir(tsmReportDir(root), { recursive: true });
  const created: string[] = [];
  const inblobs: Uint8Array[] = [];
  const privlevels: string[] = [];
  const bump = async (entry: string, n: number) => {
    const g = Number((await readFile(join(entry, 'generation'), 'utf8')).trim());
    await writeFile(join(entry, 'generation'), `${g + n}\n`);
  };
  const fs: ProviderFs = {
    exists: (p) => nodeProviderFs.exists(p),
    async mkdir(p) {
      await mkdir(p);
      created.push(basename(p));
      await writeFile(join(p, 'provider'), `${opts.provider}\n`);
      await writeFile(join(p, 'generation'), '0\n');
      await writeFile(join(p, 'inblob'), '');
      if (opts.aux) await writeFile(join(p, 'auxblob'), opts.aux);
      if (opts.privlevelFloor !== undefined) await writeFile(join(p, 'privlevel_floor'), `${opts.privlevelFloor}\n`);
    },
    async rmdir(p) {
      await rm(p, { recursive: true });
    },
    async writeFile(p, d) {
      const name = basename(p);
      if (name === 'provider' || name === 'generation' || name === 'outblob') throw new Error('EACCES: read-only');
      await writeFile(p, d);
      if (name === 'inblob') inblobs.push(new Uint8Array(d));
      if (name === 'privlevel') privlevels.push(Buffer.from(d).toString());
      await bump(dirname(p), 1);
    },
    async readFile(p, max) {
      if (basename(p) === 'outblob') {
        if (opts.failOutblob) throw Object.assign(new Error('quote generation failed'), { code: 'EIO' });
        if (opts.raceBumps) await bump(dirname(p), opts.raceBumps);
        const out = new Uint8Array(opts.evidence);
        const inblob = new Uint8Array(await readFile(join(dirname(p), 'inblob')));
        if (out.length >= opts.reportDataAt + 64) out.set(inblob, opts.reportDataAt);
        return out.subarray(0, max + 1);
      }
      return nodeProviderFs.readFile(p, max);
    },
  };
  return { root, fs, created, inblobs, privlevels };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProviderError, `expected ProviderError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

async function entriesLeft(root: string): Promise<string[]> {
  return readdir(tsmReportDir(root));
}

describe('ConfigfsTsmProvider', { skip: SKIP_NO_VECTORS }, () => {
  const tdxQuote = () => readVector('tdx/phala-dcap-qvl/tdx_quote.bin');
  const snpReport = () => readVector('sev-snp/google-go-sev-guest/attestation.bin');

  test('TDX: writes inblob, returns outblob, removes the entry', async () => {
    const t = await fakeTsm({ provider: 'tdx_guest', evidence: tdxQuote(), reportDataAt: TDX_REPORT_DATA_AT });
    const rd = new Uint8Array(randomBytes(64));
    const p = new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs: t.fs });
    const ev = await p.getEvidence(rd);
    assert.equal(ev.tee, 'tdx');
    assert.equal(ev.aux, undefined);
    assert.equal(ev.evidence.length, tdxQuote().length);
    assert.deepEqual(ev.evidence.subarray(TDX_REPORT_DATA_AT, TDX_REPORT_DATA_AT + 64), rd);
    assert.deepEqual(t.inblobs, [rd]);
    assert.equal(t.created.length, 1);
    assert.match(t.created[0] ?? '', /^ratls-\d+-[0-9a-f]{16}$/);
    assert.deepEqual(await entriesLeft(t.root), []);
  });

  test('SEV-SNP: privlevel, outblob and auxblob', async () => {
    const aux = new Uint8Array(randomBytes(300));
    const t = await fakeTsm({ provider: 'sev_guest', evidence: snpReport(), reportDataAt: SNP_REPORT_DATA_AT, aux });
    const rd = new Uint8Array(randomBytes(64));
    const p = new ConfigfsTsmProvider({ tee: 'sev-snp', root: t.root, fs: t.fs, privlevel: 2 });
    const ev = await p.getEvidence(rd);
    assert.equal(ev.tee, 'sev-snp');
    assert.deepEqual(ev.aux, aux);
    assert.deepEqual(ev.evidence.subarray(SNP_REPORT_DATA_AT, SNP_REPORT_DATA_AT + 64), rd);
    assert.deepEqual(t.privlevels, ['2']);
    assert.deepEqual(await entriesLeft(t.root), []);
  });

  test('detect() reads the TEE from the provider attribute and leaves no entry', async () => {
    const t = await fakeTsm({ provider: 'sev_guest', evidence: snpReport(), reportDataAt: SNP_REPORT_DATA_AT });
    const p = await ConfigfsTsmProvider.detect({ root: t.root, fs: t.fs });
    assert.equal(p.tee, 'sev-snp');
    assert.deepEqual(await entriesLeft(t.root), []);
  });

  test('a concurrent writer (generation moved by more than our writes) fails, entry removed', async () => {
    const t = await fakeTsm({
      provider: 'tdx_guest',
      evidence: tdxQuote(),
      reportDataAt: TDX_REPORT_DATA_AT,
      raceBumps: 1,
    });
    const p = new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs: t.fs });
    await rejectsWith(p.getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_GENERATION_MISMATCH');
    assert.equal(t.created.length, 1);
    assert.deepEqual(await entriesLeft(t.root), []);
  });

  test('missing report directory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'ratls-tsm-'));
    roots.push(root);
    await rejectsWith(
      new ConfigfsTsmProvider({ tee: 'tdx', root }).getEvidence(new Uint8Array(64)),
      'ERR_PROVIDER_NOT_FOUND',
    );
    await rejectsWith(ConfigfsTsmProvider.detect({ root }), 'ERR_PROVIDER_NOT_FOUND');
  });

  test('an outblob read failure is typed and the entry is still removed', async () => {
    const t = await fakeTsm({
      provider: 'tdx_guest',
      evidence: tdxQuote(),
      reportDataAt: TDX_REPORT_DATA_AT,
      failOutblob: true,
    });
    const p = new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs: t.fs });
    await rejectsWith(p.getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_READ');
    assert.deepEqual(await entriesLeft(t.root), []);
  });

  test('expected TDX but the kernel provider is sev_guest', async () => {
    const t = await fakeTsm({ provider: 'sev_guest', evidence: snpReport(), reportDataAt: SNP_REPORT_DATA_AT });
    const p = new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs: t.fs });
    await rejectsWith(p.getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_TEE_MISMATCH');
    assert.deepEqual(t.inblobs, []);
    assert.deepEqual(await entriesLeft(t.root), []);
  });

  test('unknown provider name', async () => {
    const t = await fakeTsm({ provider: 'arm_cca_guest', evidence: snpReport(), reportDataAt: SNP_REPORT_DATA_AT });
    await rejectsWith(ConfigfsTsmProvider.detect({ root: t.root, fs: t.fs }), 'ERR_PROVIDER_UNKNOWN_TSM');
    assert.deepEqual(await entriesLeft(t.root), []);
  });

  test('non-numeric generation', async () => {
    const t = await fakeTsm({ provider: 'tdx_guest', evidence: tdxQuote(), reportDataAt: TDX_REPORT_DATA_AT });
    const fs: ProviderFs = {
      ...t.fs,
      readFile: async (p, max) =>
        basename(p) === 'generation' ? new TextEncoder().encode('x1\n') : t.fs.readFile(p, max),
    };
    const p = new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs });
    await rejectsWith(p.getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_GENERATION_INVALID');
  });

  test('oversized outblob', async () => {
    const big = new Uint8Array(MAX_OUTBLOB_BYTES + 10);
    const t = await fakeTsm({ provider: 'tdx_guest', evidence: big, reportDataAt: TDX_REPORT_DATA_AT });
    const p = new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs: t.fs });
    await rejectsWith(p.getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_OUTPUT_TOO_LARGE');
    assert.deepEqual(await entriesLeft(t.root), []);
  });

  test('outblob over different report data', async () => {
    const t = await fakeTsm({ provider: 'tdx_guest', evidence: tdxQuote(), reportDataAt: 10_000_000 });
    const p = new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs: t.fs });
    await rejectsWith(p.getEvidence(new Uint8Array(64).fill(9)), 'ERR_PROVIDER_REPORT_DATA_MISMATCH');
  });

  test('mkdir failure', async () => {
    const t = await fakeTsm({ provider: 'tdx_guest', evidence: tdxQuote(), reportDataAt: TDX_REPORT_DATA_AT });
    const fs: ProviderFs = { ...t.fs, mkdir: async () => Promise.reject(new Error('EACCES')) };
    await rejectsWith(
      new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs }).getEvidence(new Uint8Array(64)),
      'ERR_PROVIDER_MKDIR',
    );
  });

  test('rmdir failure after success is reported', async () => {
    const t = await fakeTsm({ provider: 'tdx_guest', evidence: tdxQuote(), reportDataAt: TDX_REPORT_DATA_AT });
    const fs: ProviderFs = { ...t.fs, rmdir: async () => Promise.reject(new Error('EBUSY')) };
    await rejectsWith(
      new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs }).getEvidence(new Uint8Array(64)),
      'ERR_PROVIDER_CLEANUP',
    );
  });

  test('option checks', () => {
    assert.throws(() => new ConfigfsTsmProvider({ tee: 'tdx', privlevel: 0 }), { code: 'ERR_PROVIDER_PRIVLEVEL' });
    assert.throws(() => new ConfigfsTsmProvider({ tee: 'sev-snp', privlevel: 4 }), { code: 'ERR_PROVIDER_PRIVLEVEL' });
    assert.throws(() => new ConfigfsTsmProvider({ tee: 'sgx' as 'tdx' }), { code: 'ERR_PROVIDER_TEE_UNSUPPORTED' });
  });

  test('report data must be 64 bytes', async () => {
    const t = await fakeTsm({ provider: 'tdx_guest', evidence: tdxQuote(), reportDataAt: TDX_REPORT_DATA_AT });
    const p = new ConfigfsTsmProvider({ tee: 'tdx', root: t.root, fs: t.fs });
    await rejectsWith(p.getEvidence(new Uint8Array(65)), 'ERR_PROVIDER_REPORT_DATA_LENGTH');
    assert.deepEqual(t.created, []);
  });

  test('privlevel below privlevel_floor is refused before anything is written', async () => {
    const t = await fakeTsm({
      provider: 'sev_guest',
      evidence: snpReport(),
      reportDataAt: SNP_REPORT_DATA_AT,
      privlevelFloor: 2,
    });
    const p = new ConfigfsTsmProvider({ tee: 'sev-snp', root: t.root, fs: t.fs, privlevel: 1 });
    await rejectsWith(p.getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_PRIVLEVEL');
    assert.deepEqual(t.privlevels, []);
    assert.deepEqual(t.inblobs, []);
    assert.deepEqual(await entriesLeft(t.root), []);
  });
});
