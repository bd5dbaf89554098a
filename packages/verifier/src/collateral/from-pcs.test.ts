import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { fixtureFromCase } from '@ratls/test-support/pcs-server';
import { readVector, readVectorJson, readVectorText, SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';
import { collateralFacts } from './facts.js';
import { collateralFromPcsResponses } from './from-pcs.js';
import { decodeIssuerChain } from './issuer-chain.js';
import { collateralFromJson } from './json.js';
import type { QuoteCollateralV3Json } from './types.js';

const code = (c: string) => (e: unknown) => e instanceof RatlsError && e.code === c;
const enc = encodeURIComponent;
const caseNames = () =>
  readdirSync(vectorPath('dcap-cases'))
    .filter((f) => f.endsWith('.collateral.json'))
    .map((f) => f.replace('.collateral.json', ''));

function gotdxResponses() {
  const g = 'tdx/google-go-tdx-guest/';
  return {
    tcbInfoBody: readVectorText(`${g}sample_tcbInfo_response`),
    tcbInfoIssuerChain: enc(readVectorText(`${g}tcbInfoIssuerChain.pem`)),
    qeIdentityBody: readVectorText(`${g}sample_qeIdentity_response`),
    qeIdentityIssuerChain: enc(readVectorText(`${g}qeIdentityIssuerChain.pem`)),
    pckCrl: readVector(`${g}pckcrl`),
    pckCrlIssuerChain: enc(readVectorText(`${g}pckCrlIssuerChain.pem`)),
    rootCaCrl: readVector(`${g}rootcrl.der`),
  };
}

describe('collateralFromPcsResponses', { skip: SKIP_NO_VECTORS }, () => {
  test('raw go-tdx-guest PCS files equal the case file, byte for byte', () => {
    const want = collateralFromJson(readVectorText('dcap-cases/gotdx_2023-06.collateral.json'));
    assert.deepEqual(collateralFromPcsResponses(gotdxResponses()), want);
  });

  test('raw automata SGX files (DER PCK CRL, hex Root CA CRL) equal the case file', () => {
    const c = readVectorJson<QuoteCollateralV3Json>('dcap-cases/auto_sgx_2025-08.collateral.json');
    const d = 'sgx-dcap/automata/collateral-2025-08/';
    const got = collateralFromPcsResponses({
      tcbInfoBody: readVectorText(`${d}sgx_tcbinfov3_00606a000000.json`),
      tcbInfoIssuerChain: enc(c.tcb_info_issuer_chain),
      qeIdentityBody: readVectorText(`${d}sgx_qeidentity_v4.json`),
      qeIdentityIssuerChain: enc(c.qe_identity_issuer_chain),
      pckCrl: readVector(`${d}platform_crl.der`),
      pckCrlIssuerChain: enc(c.pck_crl_issuer_chain),
      rootCaCrl: new TextEncoder().encode(
        readVectorText('intel-pcs-common/automata/intel_sgx_root_ca_crl_2025-03.der.hex'),
      ),
    });
    assert.deepEqual(got, collateralFromJson(c));
  });

  test('odd whitespace around and inside the envelope keeps the signed text exact', () => {
    const r = gotdxResponses();
    const want = collateralFromPcsResponses(r);
    const inner = want.tcbInfoJson;
    const sig = Buffer.from(want.tcbInfoSignature).toString('hex');
    const odd = { ...r, tcbInfoBody: `\r\n\t{ "signature"\n:\t"${sig}" ,\n  "tcbInfo" :\n${inner}\n}\n\n` };
    assert.deepEqual(collateralFromPcsResponses(odd), want);
  });

  test('every case file round-trips through PCS-style responses', () => {
    for (const name of caseNames()) {
      const c = readVectorJson<QuoteCollateralV3Json>(`dcap-cases/${name}.collateral.json`);
      const fx = fixtureFromCase(c);
      const got = collateralFromPcsResponses({
        tcbInfoBody: fx.tcbInfoBody,
        tcbInfoIssuerChain: enc(fx.tcbInfoChain),
        qeIdentityBody: fx.qeIdentityBody,
        qeIdentityIssuerChain: enc(fx.qeIdentityChain),
        pckCrl: fx.pckCrl,
        pckCrlIssuerChain: enc(fx.pckCrlChain),
        rootCaCrl: new TextEncoder().encode(fx.rootCaCrl as string),
      });
      assert.deepEqual(got, collateralFromJson(c), name);
    }
  });

  test('facts: tee, fmspc and effective nextUpdate', () => {
    const f = collateralFacts(collateralFromPcsResponses(gotdxResponses()));
    assert.equal(f.tee, 'tdx');
    assert.equal(f.fmspc, '50806f000000');
    assert.equal(f.qeId, 'TD_QE');
    // QE identity 2023-07-08T07:24:59Z precedes the PCK CRL (07:27:52) and TCB info (07-18).
    assert.equal(new Date(f.nextUpdate).toISOString(), '2023-07-08T07:24:59.000Z');
    const v2 = collateralFacts(collateralFromJson(readVectorText('dcap-cases/auto_sgx_2025-06_v2.collateral.json')));
    assert.equal(v2.tee, 'sgx'); // TCB info v2 has no id
  });

  test('missing issuer chain is ERR_COLLATERAL_MISSING', () => {
    assert.throws(
      () => collateralFromPcsResponses({ ...gotdxResponses(), tcbInfoIssuerChain: '' }),
      code('ERR_COLLATERAL_MISSING'),
    );
  });

  test('issuer chain with bad URL encoding or stray text is ERR_COLLATERAL_MALFORMED', () => {
    const pem = readVectorText('tdx/google-go-tdx-guest/tcbInfoIssuerChain.pem');
    assert.equal(decodeIssuerChain(pem, 'x'), pem); // already decoded: unchanged
    assert.throws(() => decodeIssuerChain('%E0%A4%A', 'x'), code('ERR_COLLATERAL_MALFORMED'));
    assert.throws(() => decodeIssuerChain(enc(`${pem}junk`), 'x'), code('ERR_COLLATERAL_MALFORMED'));
    assert.throws(() => decodeIssuerChain('hello', 'x'), code('ERR_COLLATERAL_MALFORMED'));
    assert.throws(() => decodeIssuerChain('a'.repeat(70_000), 'x'), code('ERR_COLLATERAL_TOO_LARGE'));
  });

  test('truncated TCB info body and broken PCK CRL are ERR_COLLATERAL_MALFORMED', () => {
    const r = gotdxResponses();
    assert.throws(
      () => collateralFromPcsResponses({ ...r, tcbInfoBody: r.tcbInfoBody.slice(0, 500) }),
      code('ERR_COLLATERAL_MALFORMED'),
    );
    assert.throws(
      () => collateralFromPcsResponses({ ...r, pckCrl: r.pckCrl.subarray(0, 100) }),
      code('ERR_COLLATERAL_MALFORMED'),
    );
    assert.throws(
      () => collateralFromPcsResponses({ ...r, qeIdentityBody: r.tcbInfoBody }),
      code('ERR_COLLATERAL_MALFORMED'),
    );
  });

  test('facts refuse an unknown TCB info id and a bad nextUpdate', () => {
    const c = collateralFromPcsResponses(gotdxResponses());
    assert.throws(
      () => collateralFacts({ ...c, tcbInfoJson: c.tcbInfoJson.replace('"TDX"', '"SEV"') }),
      code('ERR_COLLATERAL_MALFORMED'),
    );
    assert.throws(
      () =>
        collateralFacts({
          ...c,
          qeIdentityJson: c.qeIdentityJson.replace(/"nextUpdate":"[^"]*"/, '"nextUpdate":"soon"'),
        }),
      code('ERR_COLLATERAL_MALFORMED'),
    );
  });
});
