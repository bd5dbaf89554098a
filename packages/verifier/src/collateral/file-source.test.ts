import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { readVectorText, SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';
import { FileCollateralSource } from './file-source.js';
import { collateralFromJson } from './json.js';

const code = (c: string) => (e: unknown) => e instanceof RatlsError && e.code === c;
const p = (name: string) => vectorPath(`dcap-cases/${name}.collateral.json`);
const want = (name: string) => collateralFromJson(readVectorText(`dcap-cases/${name}.collateral.json`));

describe('FileCollateralSource', { skip: SKIP_NO_VECTORS }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ratls-filesrc-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const several = () =>
    new FileCollateralSource([
      p('dcapqvl_sgx_2025-06'),
      p('auto_sgx_2025-06_v2'),
      p('dcapqvl_tdx_2025-06'),
      p('dcapqvl_tdx_2026-02'),
    ]);

  test('picks by TEE and FMSPC, case-insensitively (file has upper-case FMSPC)', async () => {
    const s = several();
    assert.deepEqual(
      await s.getCollateral({ tee: 'sgx', fmspc: '00a067110000', pckCa: 'processor' }),
      want('dcapqvl_sgx_2025-06'),
    );
    assert.deepEqual(
      await s.getCollateral({ tee: 'tdx', fmspc: 'B0C06F000000', pckCa: 'platform' }),
      want('dcapqvl_tdx_2025-06'),
    );
    assert.deepEqual(
      await s.getCollateral({ tee: 'tdx', fmspc: '90c06f000000', pckCa: 'platform' }),
      want('dcapqvl_tdx_2026-02'),
    );
  });

  test('TCB info v2 without id counts as SGX', async () => {
    const s = several();
    assert.deepEqual(
      await s.getCollateral({ tee: 'sgx', fmspc: '00606a000000', pckCa: 'platform' }),
      want('auto_sgx_2025-06_v2'),
    );
  });

  test('an SGX TCB info never answers a TDX request when several files exist', async () => {
    const s = new FileCollateralSource([p('dcapqvl_sgx_2025-06'), p('auto_sgx_2025-08')]);
    await assert.rejects(
      s.getCollateral({ tee: 'tdx', fmspc: '00a067110000', pckCa: 'platform' }),
      code('ERR_COLLATERAL_NOT_FOUND'),
    );
  });

  test('a single file is returned even when it does not match (the appraiser refuses precisely)', async () => {
    const s = new FileCollateralSource(p('dcapqvl_sgx_2025-06'));
    assert.deepEqual(
      await s.getCollateral({ tee: 'tdx', fmspc: '90c06f000000', pckCa: 'platform' }),
      want('dcapqvl_sgx_2025-06'),
    );
  });

  test('no match among several is ERR_COLLATERAL_NOT_FOUND and lists what it had', async () => {
    await assert.rejects(
      several().getCollateral({ tee: 'sgx', fmspc: '112233445566', pckCa: 'platform' }),
      (e: unknown) => {
        assert.ok(code('ERR_COLLATERAL_NOT_FOUND')(e));
        assert.match((e as Error).message, /sgx 00a067110000.*tdx b0c06f000000/);
        return true;
      },
    );
  });

  test('unreadable, malformed and empty inputs fail with typed codes', async () => {
    assert.throws(() => new FileCollateralSource([]), code('ERR_COLLATERAL_NOT_FOUND'));
    const req = { tee: 'sgx', fmspc: '00a067110000', pckCa: 'processor' } as const;
    await assert.rejects(
      new FileCollateralSource(join(dir, 'nope.json')).getCollateral(req),
      code('ERR_COLLATERAL_FILE'),
    );
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"tcb_info":');
    await assert.rejects(new FileCollateralSource(broken).getCollateral(req), code('ERR_COLLATERAL_MALFORMED'));
    const missing = join(dir, 'missing.json');
    writeFileSync(missing, '{}');
    await assert.rejects(new FileCollateralSource(missing).getCollateral(req), code('ERR_COLLATERAL_MISSING'));
  });
});
