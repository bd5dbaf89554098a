import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isCode, type QuoteCollateralV3Json } from '@ratls/evidence';
import { readVectorJson, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { collateralFromJson } from '../collateral/json.js';
import { intelSgxRootCa } from '../trust.js';
import {
  demotingRecovery,
  parseTcbEvaluationDataNumbers,
  type TcbEvaluationDataNumbersResponse,
  verifyTcbEvaluationDataNumbers,
} from './tcb-eval-numbers.js';

// Intel's real SGX list of 2025-08-15 (issueDate) and the TCB signing chain and Root CA CRL of the
// same collateral set (vectors/MANIFEST.md, automata collateral-2025-08).
const AT = new Date('2025-08-20T00:00:00Z');
const set = () =>
  collateralFromJson(readVectorJson<QuoteCollateralV3Json>('dcap-cases/auto_sgx_2025-08.collateral.json'));
const real = (): TcbEvaluationDataNumbersResponse => ({
  body: readVectorText('sgx-dcap/automata/collateral-2025-08/sgxtcbeval.json').trim(),
  issuerChainPem: set().tcbInfoIssuerChainPem,
});
const opts = () => ({ tee: 'sgx' as const, anchors: [intelSgxRootCa()], rootCaCrl: set().rootCaCrl, at: AT });
const code = (c: Parameters<typeof isCode>[1]) => (e: unknown) => isCode(e, c);
const sec = (iso: string) => Date.parse(iso) / 1000;

describe('signed TCB evaluation data numbers (grace anchor)', { skip: SKIP_NO_VECTORS }, () => {
  test("Intel's real SGX list verifies; the recovery of a level is found by its tcbDate", () => {
    const n = verifyTcbEvaluationDataNumbers(real(), opts());
    assert.equal(n.id, 'SGX');
    assert.deepEqual(
      n.tcbEvalNumbers.map((e) => e.tcbEvaluationDataNumber),
      [20, 19, 18, 17],
    );
    const hit = demotingRecovery(n, sec('2025-08-13T00:00:00Z'));
    assert.equal(hit.tcbEvaluationDataNumber, 20);
    assert.equal(hit.tcbRecoveryEventDate, sec('2025-08-12T00:00:00Z'));
  });

  test('a tampered list (one number changed in the signed text) fails its signature', () => {
    const r = real();
    const body = r.body.replace('"tcbEvaluationDataNumber":20', '"tcbEvaluationDataNumber":21');
    assert.notEqual(body, r.body);
    assert.throws(() => verifyTcbEvaluationDataNumbers({ ...r, body }, opts()), code('ERR_TCB_EVAL_NUMBERS_SIGNATURE'));
  });

  test('a moved recovery date in the signed text fails its signature', () => {
    const r = real();
    const body = r.body.replace(
      '"tcbRecoveryEventDate":"2025-08-12T00:00:00Z"',
      '"tcbRecoveryEventDate":"2025-09-12T00:00:00Z"',
    );
    assert.notEqual(body, r.body);
    assert.throws(() => verifyTcbEvaluationDataNumbers({ ...r, body }, opts()), code('ERR_TCB_EVAL_NUMBERS_SIGNATURE'));
  });

  test('signed by a certificate in another role (the PCK Platform CA chain) is refused', () => {
    const r = { ...real(), issuerChainPem: set().pckCrlIssuerChainPem };
    assert.throws(() => verifyTcbEvaluationDataNumbers(r, opts()), code('ERR_TCB_SIGNER_ROLE'));
  });

  test('a lone signer without the root is refused (exactly signer + root)', () => {
    const pem = set().tcbInfoIssuerChainPem;
    const first = pem.slice(0, pem.indexOf('-----END CERTIFICATE-----') + 25);
    assert.throws(
      () => verifyTcbEvaluationDataNumbers({ ...real(), issuerChainPem: first }, opts()),
      code('ERR_TCB_SIGNER_ROLE'),
    );
  });

  test('the SGX list is not accepted for TDX', () => {
    assert.throws(
      () => verifyTcbEvaluationDataNumbers(real(), { ...opts(), tee: 'tdx' }),
      code('ERR_TCB_EVAL_NUMBERS_MALFORMED'),
    );
  });

  test('past its nextUpdate the list is expired', () => {
    assert.throws(
      () => verifyTcbEvaluationDataNumbers(real(), { ...opts(), at: new Date('2025-10-01T00:00:00Z') }),
      code('ERR_COLLATERAL_EXPIRED'),
    );
  });

  test('no recovery for the level that demoted the platform: no anchor, fail closed', () => {
    const n = verifyTcbEvaluationDataNumbers(real(), opts());
    assert.throws(() => demotingRecovery(n, sec('2025-08-14T00:00:00Z')), code('ERR_TCB_EVAL_NUMBER_MISSING'));
  });

  test('malformed fields are typed errors', () => {
    const ok =
      '{"id":"SGX","version":1,"issueDate":"2025-08-15T05:15:31Z","nextUpdate":"2025-09-14T05:15:31Z","tcbEvalNumbers":[]}';
    assert.equal(parseTcbEvaluationDataNumbers(ok).tcbEvalNumbers.length, 0);
    for (const bad of [
      ok.replace('"version":1', '"version":2'),
      ok.replace('"SGX"', '"SEV"'),
      ok.replace(
        '[]',
        '[{"tcbEvaluationDataNumber":-1,"tcbRecoveryEventDate":"2025-08-12T00:00:00Z","tcbDate":"2025-08-13T00:00:00Z"}]',
      ),
      ok.replace(
        '[]',
        '[{"tcbEvaluationDataNumber":1,"tcbRecoveryEventDate":"yesterday","tcbDate":"2025-08-13T00:00:00Z"}]',
      ),
      ok.replace('[]', `[${Array(300).fill('{}').join(',')}]`),
      '[]',
    ]) {
      assert.throws(() => parseTcbEvaluationDataNumbers(bad), code('ERR_TCB_EVAL_NUMBERS_MALFORMED'), bad.slice(0, 80));
    }
  });
});
