import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseQuote, type SgxReportBody, type TdReportBody } from '@ratls/evidence';
import { dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import fc from 'fast-check';
import { collateralFromJson } from '../collateral/json.js';
import { pemToDers } from '../pki/certificate.js';
import { intelSgxRootCa } from '../trust.js';
import { checkTcbInfoMatches } from './collateral-match.js';
import { parsePckExtensions } from './pck-extensions.js';
import { checkQeIdentityTee, matchQeIdentity, parseQeIdentity } from './qe-identity.js';
import { convergeStatus, mergeTcbStatus } from './status.js';
import { parseTcbInfo, type TcbInfo, type TcbLevel } from './tcb-info.js';
import { matchTcbLevel } from './tcb-level.js';
import { checkTdxModule } from './tdx-module.js';

const sgxCase = dcapCases().find((c) => c.name === 'sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06');
const tdxCase = dcapCases().find((c) => c.name === 'tdx__phala-dcap-qvl__tdx_quote.bin@dcapqvl_tdx_2025-06');

describe('status merging (Intel QVL converge rules)', () => {
  test('QE or module OutOfDate lowers the platform status', () => {
    assert.equal(convergeStatus('UpToDate', 'OutOfDate'), 'OutOfDate');
    assert.equal(convergeStatus('SWHardeningNeeded', 'OutOfDate'), 'OutOfDate');
    assert.equal(convergeStatus('ConfigurationNeeded', 'OutOfDate'), 'OutOfDateConfigurationNeeded');
    assert.equal(convergeStatus('ConfigurationAndSWHardeningNeeded', 'OutOfDate'), 'OutOfDateConfigurationNeeded');
    assert.equal(convergeStatus('OutOfDate', 'OutOfDate'), 'OutOfDate');
    assert.equal(convergeStatus('ConfigurationAndSWHardeningNeeded', 'UpToDate'), 'ConfigurationAndSWHardeningNeeded');
    assert.equal(convergeStatus('UpToDate', 'Revoked'), 'Revoked');
    assert.equal(mergeTcbStatus('UpToDate', 'UpToDate', 'OutOfDate'), 'OutOfDate');
    assert.equal(mergeTcbStatus('ConfigurationNeeded', 'OutOfDate'), 'OutOfDateConfigurationNeeded');
    assert.equal(mergeTcbStatus('Revoked', 'UpToDate'), 'Revoked');
  });
});

function level(sgx: number[], pce: number, tdx: number[] | undefined, status: TcbLevel['tcbStatus']): TcbLevel {
  const pad = (a: number[]) => [...a, ...new Array(16 - a.length).fill(0)];
  return {
    sgxComponents: pad(sgx),
    pceSvn: pce,
    ...(tdx ? { tdxComponents: pad(tdx) } : {}),
    tcbDate: '2024-01-01T00:00:00Z',
    tcbStatus: status,
    advisoryIds: [],
  };
}

describe('TCB level matching', () => {
  const info = (levels: TcbLevel[], id: 'SGX' | 'TDX' = 'SGX'): TcbInfo => ({
    id,
    version: 3,
    issueDate: 0,
    nextUpdate: 1,
    fmspc: new Uint8Array(6),
    pceId: new Uint8Array(2),
    tcbType: 0,
    tcbEvaluationDataNumber: 1,
    tcbLevels: levels,
  });
  const tcb = (comps: number[], pceSvn: number) => ({
    compSvn: [...comps, ...new Array(16 - comps.length).fill(0)],
    pceSvn,
    cpuSvn: new Uint8Array(16),
  });

  test('SGX: first level with every component and PCESVN ≤ the platform', () => {
    const t = info([
      level([5, 5], 13, undefined, 'UpToDate'),
      level([4, 4], 13, undefined, 'SWHardeningNeeded'),
      level([1, 1], 5, undefined, 'OutOfDate'),
    ]);
    assert.equal(matchTcbLevel(t, tcb([5, 6], 13)).tcbStatus, 'UpToDate');
    assert.equal(matchTcbLevel(t, tcb([6, 4], 13)).tcbStatus, 'SWHardeningNeeded');
    assert.equal(matchTcbLevel(t, tcb([9, 9], 12)).tcbStatus, 'OutOfDate', 'PCESVN counts');
    assert.throws(() => matchTcbLevel(t, tcb([0, 9], 13)), { code: 'ERR_TCB_NOT_SUPPORTED', step: 'tcb-level' });
  });

  test('TDX: TEE_TCB_SVN compared from byte 2 when the module version byte is non-zero', () => {
    const t = info([level([1], 1, [9, 9, 3], 'UpToDate'), level([1], 1, [0, 0, 2], 'OutOfDate')], 'TDX');
    const svn = (b: number[]) => new Uint8Array([...b, ...new Array(16 - b.length).fill(0)]);
    assert.equal(matchTcbLevel(t, tcb([1], 1), svn([1, 1, 3])).tcbStatus, 'UpToDate', 'bytes 0-1 belong to the module');
    assert.equal(matchTcbLevel(t, tcb([1], 1), svn([1, 0, 3])).tcbStatus, 'OutOfDate', 'version 0: all bytes count');
    assert.throws(() => matchTcbLevel(t, tcb([1], 1), svn([1, 1, 1])), { code: 'ERR_TCB_NOT_SUPPORTED' });
    assert.throws(() => matchTcbLevel(t, tcb([0], 1), svn([1, 1, 3])), { code: 'ERR_TCB_NOT_SUPPORTED' });
  });
});

describe('collateral parsing', { skip: SKIP_NO_VECTORS }, () => {
  test('TCB info v2, v3 SGX and v3 TDX, and QE identities, parse from every case', () => {
    for (const c of dcapCases()) {
      const col = collateralFromJson(readVectorText(c.collateral));
      const t = parseTcbInfo(col.tcbInfoJson);
      assert.equal(t.id, c.tee);
      assert.ok(t.tcbLevels.length > 0);
      const q = parseQeIdentity(col.qeIdentityJson);
      assert.equal(q.id, c.tee === 'TDX' ? 'TD_QE' : 'QE');
    }
  });

  test('malformed TCB info and QE identity are typed errors', () => {
    const bad = [
      '',
      '[]',
      '{"version":4}',
      '{"version":3,"id":"XYZ"}',
      '{"version":2,"tcbLevels":[]}',
      'x'.repeat(2_000_000),
    ];
    for (const j of bad) {
      assert.throws(() => parseTcbInfo(j), { code: 'ERR_TCB_INFO_MALFORMED', step: 'tcb-info' });
      assert.throws(() => parseQeIdentity(j), { code: 'ERR_QE_IDENTITY_MALFORMED', step: 'qe-identity' });
    }
    const good = collateralFromJson(readVectorText((sgxCase ?? tdxCase)?.collateral as string)).tcbInfoJson;
    assert.throws(() => parseTcbInfo(good.replace(/"tcbStatus":"[A-Za-z]+"/, '"tcbStatus":"Fine"')), {
      code: 'ERR_TCB_INFO_MALFORMED',
    });
    assert.throws(() => parseTcbInfo(good.replace(/"pcesvn":\d+/, '"pcesvn":-1')), { code: 'ERR_TCB_INFO_MALFORMED' });
  });

  test('JSON fuzz: only typed errors', () => {
    fc.assert(
      fc.property(fc.json(), (j) => {
        for (const f of [parseTcbInfo, parseQeIdentity]) {
          try {
            f(j);
          } catch (e) {
            assert.match((e as { code?: string }).code ?? '', /^ERR_(TCB_INFO|QE_IDENTITY)_MALFORMED$/);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('PCK extensions and quote-specific checks', { skip: SKIP_NO_VECTORS }, () => {
  const c = sgxCase as NonNullable<typeof sgxCase>;
  const quote = parseQuote(readVector(c.quote));
  const leafDer = pemToDers(quote.signatureData.pckChainPem as string)[0] as Uint8Array;
  const col = collateralFromJson(readVectorText(c.collateral));
  const tcbInfo = parseTcbInfo(col.tcbInfoJson);
  const qe = parseQeIdentity(col.qeIdentityJson);

  test('parsePckExtensions reads FMSPC, PCEID, TCB', () => {
    const ext = parsePckExtensions(leafDer);
    assert.equal(Buffer.from(ext.fmspc).toString('hex'), '00a067110000');
    assert.equal(Buffer.from(ext.pceId).toString('hex'), '0000');
    assert.equal(ext.tcb.compSvn.length, 16);
    assert.equal(ext.ppid.length, 16);
    assert.throws(() => parsePckExtensions(intelSgxRootCa().der), { code: 'ERR_PCK_EXTENSION' });
    assert.throws(() => parsePckExtensions(new Uint8Array([0x30, 0x00])), { code: 'ERR_PCK_EXTENSION' });
  });

  test('checkTcbInfoMatches: TEE, FMSPC, PCEID', () => {
    const ext = parsePckExtensions(leafDer);
    checkTcbInfoMatches(tcbInfo, ext, 'sgx');
    assert.throws(() => checkTcbInfoMatches(tcbInfo, ext, 'tdx'), { code: 'ERR_TCB_INFO_TEE_MISMATCH' });
    assert.throws(() => checkTcbInfoMatches({ ...tcbInfo, fmspc: new Uint8Array(6) }, ext, 'sgx'), {
      code: 'ERR_FMSPC_MISMATCH',
    });
    assert.throws(() => checkTcbInfoMatches({ ...tcbInfo, pceId: new Uint8Array([1, 0]) }, ext, 'sgx'), {
      code: 'ERR_PCEID_MISMATCH',
    });
  });

  test('QE identity: TEE id, MISCSELECT, ATTRIBUTES, MRSIGNER, ISVPRODID, ISVSVN', () => {
    const r: SgxReportBody = quote.signatureData.qeReport;
    assert.equal(matchQeIdentity(r, qe).tcbStatus, 'UpToDate');
    checkQeIdentityTee(qe, 'sgx');
    assert.throws(() => checkQeIdentityTee(qe, 'tdx'), { code: 'ERR_QE_IDENTITY_TEE_MISMATCH' });
    const code = { code: 'ERR_QE_IDENTITY_MISMATCH', step: 'qe-identity-match' };
    assert.throws(() => matchQeIdentity(r, { ...qe, mrSigner: new Uint8Array(32) }), code);
    assert.throws(() => matchQeIdentity(r, { ...qe, isvProdId: qe.isvProdId + 1 }), code);
    assert.throws(() => matchQeIdentity(r, { ...qe, miscSelect: 1, miscSelectMask: 1 }), code);
    const attrs = qe.attributes.slice();
    attrs[0] = (attrs[0] as number) ^ 0x01;
    assert.throws(() => matchQeIdentity(r, { ...qe, attributes: attrs }), code);
    const high = qe.tcbLevels.map((l) => ({ ...l, isvSvn: r.isvSvn + 1 }));
    assert.throws(() => matchQeIdentity(r, { ...qe, tcbLevels: high }), {
      code: 'ERR_TCB_NOT_SUPPORTED',
      step: 'qe-identity-match',
    });
    const outdated = [{ ...(qe.tcbLevels[0] as (typeof qe.tcbLevels)[0]), tcbStatus: 'OutOfDate' as const }];
    assert.equal(matchQeIdentity(r, { ...qe, tcbLevels: outdated }).tcbStatus, 'OutOfDate');
  });

  test('TDX module: identity TDX_%02X, MRSIGNERSEAM, SEAMATTRIBUTES, ISVSVN', () => {
    const t = tdxCase as NonNullable<typeof tdxCase>;
    const tq = parseQuote(readVector(t.quote));
    const rep = tq.body.report as TdReportBody;
    const info = parseTcbInfo(collateralFromJson(readVectorText(t.collateral)).tcbInfoJson);
    assert.deepEqual(checkTdxModule(rep, info), { id: 'TDX_01', status: 'UpToDate', advisoryIds: [] });
    const mism = { code: 'ERR_TDX_MODULE_MISMATCH', step: 'tdx-module' };
    assert.throws(() => checkTdxModule(rep, { ...info, tdxModuleIdentities: [] }), mism);
    const ids = info.tdxModuleIdentities ?? [];
    assert.throws(
      () =>
        checkTdxModule(rep, {
          ...info,
          tdxModuleIdentities: ids.map((m) => ({ ...m, mrSigner: new Uint8Array(48).fill(1) })),
        }),
      mism,
    );
    const attrs = ids.map((m) => ({ ...m, attributes: new Uint8Array(8).fill(1) }));
    assert.throws(() => checkTdxModule(rep, { ...info, tdxModuleIdentities: attrs }), mism);
    const levels = ids.map((m) => ({ ...m, tcbLevels: m.tcbLevels.map((l) => ({ ...l, isvSvn: 200 })) }));
    assert.throws(() => checkTdxModule(rep, { ...info, tdxModuleIdentities: levels }), {
      code: 'ERR_TCB_NOT_SUPPORTED',
    });
    const v0 = { ...rep, teeTcbSvn: rep.teeTcbSvn.slice() };
    v0.teeTcbSvn[1] = 0;
    assert.deepEqual(checkTdxModule(v0, info), { status: 'UpToDate', advisoryIds: [] });
  });
});
