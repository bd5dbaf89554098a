import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ProviderError } from '@ratls/evidence';
import { readVector, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { nodeProviderFs } from './fs.js';
import { GramineQuoteProvider, MAX_QUOTE_BYTES } from './gramine.js';

const SGX_REPORT_DATA_AT = 368;
const roots: string[] = [];
after(async () => {
  for (const r of roots) await rm(r, { recursive: true, force: true });
});

/** A fake Gramine tree whose quote is a real SGX quote carrying `reportData`. */
async function fakeGramine(type: string | null, reportData?: Uint8Array): Promise<{ root: string; quote: Uint8Array }> {
  const root = await mkdtemp(join(tmpdir(), 'ratls-gramine-'));
  roots.push(root);
  const quote = new Uint8Array(readVector('sgx-dcap/phala-dcap-qvl/sgx_quote.bin'));
  if (reportData) quote.set(reportData, SGX_REPORT_DATA_AT);
  if (type !== null) {
    const dir = join(root, 'dev', 'attestation');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'attestation_type'), type);
    await writeFile(join(dir, 'user_report_data'), new Uint8Array(0));
    await writeFile(join(dir, 'quote'), quote);
  }
  return { root, quote };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProviderError, `expected ProviderError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('GramineQuoteProvider', { skip: SKIP_NO_VECTORS }, () => {
  test('writes exactly the 64 report-data bytes and returns the quote file', async () => {
    const rd = new Uint8Array(randomBytes(64));
    const { root, quote } = await fakeGramine('dcap\n', rd);
    const p = new GramineQuoteProvider({ root });
    const ev = await p.getEvidence(rd);
    assert.equal(ev.tee, 'sgx');
    assert.deepEqual(ev.evidence, quote);
    const written = await readFile(join(root, 'dev', 'attestation', 'user_report_data'));
    assert.deepEqual(new Uint8Array(written), rd);
  });

  test('missing /dev/attestation', async () => {
    const { root } = await fakeGramine(null);
    await rejectsWith(new GramineQuoteProvider({ root }).getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_NOT_FOUND');
  });

  for (const type of ['none', 'epid']) {
    test(`attestation type ${type} is refused before anything is written`, async () => {
      const rd = new Uint8Array(64).fill(7);
      const { root } = await fakeGramine(type, rd);
      await rejectsWith(new GramineQuoteProvider({ root }).getEvidence(rd), 'ERR_PROVIDER_ATTESTATION_TYPE');
      const written = await readFile(join(root, 'dev', 'attestation', 'user_report_data'));
      assert.equal(written.length, 0);
    });
  }

  test('report data must be 64 bytes', async () => {
    const { root } = await fakeGramine('dcap');
    await rejectsWith(
      new GramineQuoteProvider({ root }).getEvidence(new Uint8Array(32)),
      'ERR_PROVIDER_REPORT_DATA_LENGTH',
    );
  });

  test('a quote over other report data is refused', async () => {
    const { root } = await fakeGramine('dcap', new Uint8Array(64).fill(1));
    await rejectsWith(
      new GramineQuoteProvider({ root }).getEvidence(new Uint8Array(64).fill(2)),
      'ERR_PROVIDER_REPORT_DATA_MISMATCH',
    );
  });

  test('an oversized quote is refused', async () => {
    const { root } = await fakeGramine('dcap');
    await writeFile(join(root, 'dev', 'attestation', 'quote'), new Uint8Array(MAX_QUOTE_BYTES + 1));
    await rejectsWith(
      new GramineQuoteProvider({ root }).getEvidence(new Uint8Array(64)),
      'ERR_PROVIDER_OUTPUT_TOO_LARGE',
    );
  });

  test('an empty quote is refused', async () => {
    const { root } = await fakeGramine('dcap');
    await writeFile(join(root, 'dev', 'attestation', 'quote'), new Uint8Array(0));
    await rejectsWith(new GramineQuoteProvider({ root }).getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_OUTPUT_EMPTY');
  });

  test('a truncated quote is refused', async () => {
    const { root } = await fakeGramine('dcap');
    const q = readVector('sgx-dcap/phala-dcap-qvl/sgx_quote.bin').subarray(0, 400);
    await writeFile(join(root, 'dev', 'attestation', 'quote'), q);
    await rejectsWith(
      new GramineQuoteProvider({ root }).getEvidence(new Uint8Array(64)),
      'ERR_PROVIDER_OUTPUT_TRUNCATED',
    );
  });

  test('a TDX quote from the SGX device is refused', async () => {
    const { root } = await fakeGramine('dcap');
    await writeFile(join(root, 'dev', 'attestation', 'quote'), readVector('tdx/phala-dcap-qvl/tdx_quote.bin'));
    await rejectsWith(
      new GramineQuoteProvider({ root }).getEvidence(new Uint8Array(64)),
      'ERR_PROVIDER_UNEXPECTED_OUTPUT',
    );
  });

  test('a write failure is typed', async () => {
    const { root } = await fakeGramine('dcap');
    const p = join(root, 'dev', 'attestation', 'user_report_data');
    await rm(p);
    await mkdir(p); // writing to a directory fails with EISDIR
    await rejectsWith(new GramineQuoteProvider({ root }).getEvidence(new Uint8Array(64)), 'ERR_PROVIDER_WRITE');
  });

  test('concurrent calls are serialized (each gets the quote for its own report data)', async () => {
    const { root } = await fakeGramine('dcap');
    const dir = join(root, 'dev', 'attestation');
    const base = readVector('sgx-dcap/phala-dcap-qvl/sgx_quote.bin');
    // Emulate Gramine: the quote reflects whatever user_report_data holds when it is read.
    const fs = {
      exists: (p: string) => nodeProviderFs.exists(p),
      readFile: async (p: string, max: number) => {
        if (p !== join(dir, 'quote')) return nodeProviderFs.readFile(p, max);
        await new Promise((r) => setTimeout(r, 5));
        const q = new Uint8Array(base);
        q.set(new Uint8Array(await readFile(join(dir, 'user_report_data'))), SGX_REPORT_DATA_AT);
        return q;
      },
      writeFile: (p: string, d: Uint8Array) => writeFile(p, d),
      mkdir: async () => undefined,
      rmdir: async () => undefined,
    };
    const p = new GramineQuoteProvider({ root, fs });
    const rds = [1, 2, 3, 4].map((n) => new Uint8Array(64).fill(n));
    const evs = await Promise.all(rds.map((rd) => p.getEvidence(rd)));
    for (const [i, ev] of evs.entries()) assert.deepEqual(ev.evidence.subarray(368, 432), rds[i]);
  });
});
