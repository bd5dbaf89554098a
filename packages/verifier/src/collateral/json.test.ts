import assert from 'node:assert/strict';
import { test } from 'node:test';
import { collateralFromJson, collateralToJson } from './json.js';

const BASE = {
  pck_crl_issuer_chain: 'PCK CHAIN',
  root_ca_crl: '3082',
  pck_crl: '3081',
  tcb_info_issuer_chain: 'TCB CHAIN',
  tcb_info: '{"id":"SGX"}',
  tcb_info_signature: 'aa',
  qe_identity_issuer_chain: 'QE CHAIN',
  qe_identity: '{"id":"QE"}',
  qe_identity_signature: 'bb',
};

test('the TCB evaluation data numbers (grace anchor) survive a cache or bundle round trip', () => {
  const json = {
    ...BASE,
    tcb_evaluation_data_numbers: '{"tcbEvalNumbers":[]}',
    tcb_evaluation_data_numbers_issuer_chain: 'EVAL CHAIN',
  };
  const c = collateralFromJson(json);
  assert.deepEqual(c.tcbEvaluationDataNumbers, { body: '{"tcbEvalNumbers":[]}', issuerChainPem: 'EVAL CHAIN' });
  assert.deepEqual(collateralToJson(c), json);
  // Plain QuoteCollateralV3 stays as it was: no field added.
  assert.deepEqual(collateralToJson(collateralFromJson(BASE)), BASE);
  assert.equal(collateralFromJson(BASE).tcbEvaluationDataNumbers, undefined);
});

test('half of the TCB evaluation data numbers, or a non-string, is malformed collateral', () => {
  for (const bad of [
    { ...BASE, tcb_evaluation_data_numbers: '{}' },
    { ...BASE, tcb_evaluation_data_numbers_issuer_chain: 'EVAL CHAIN' },
    { ...BASE, tcb_evaluation_data_numbers: 7, tcb_evaluation_data_numbers_issuer_chain: 'EVAL CHAIN' },
  ]) {
    assert.throws(
      () => collateralFromJson(bad as never),
      (e: { code?: string }) => e.code === 'ERR_COLLATERAL_MALFORMED',
    );
  }
});
