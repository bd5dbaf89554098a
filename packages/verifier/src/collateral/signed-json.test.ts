import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { readVectorJson, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import fc from 'fast-check';
import { extractSignedJson } from './signed-json.js';
import type { QuoteCollateralV3Json } from './types.js';

const SIG = 'ab'.repeat(64);
const code = (c: string) => (e: unknown) => e instanceof RatlsError && e.code === c;

describe('extractSignedJson', () => {
  test('raw PCS bodies give the exact signed substrings of the case files', { skip: SKIP_NO_VECTORS }, () => {
    const pairs: Array<[string, string, string]> = [
      [
        'sgx-dcap/automata/collateral-2025-08/sgx_tcbinfov3_00606a000000.json',
        'sgx-dcap/automata/collateral-2025-08/sgx_qeidentity_v4.json',
        'auto_sgx_2025-08',
      ],
      [
        'sgx-dcap/automata/collateral-2025-06/tcbinfo.json',
        'sgx-dcap/automata/collateral-2025-06/identity.json',
        'auto_sgx_2025-06_v2',
      ],
      [
        'tdx/automata/collateral-2025-10/tcb_info.json',
        'tdx/automata/collateral-2025-10/identity.json',
        'auto_tdx_00806f_2025-10',
      ],
      [
        'tdx/google-go-tdx-guest/sample_tcbInfo_response',
        'tdx/google-go-tdx-guest/sample_qeIdentity_response',
        'gotdx_2023-06',
      ],
    ];
    for (const [tcbFile, qeFile, name] of pairs) {
      const c = readVectorJson<QuoteCollateralV3Json>(`dcap-cases/${name}.collateral.json`);
      const tcb = extractSignedJson(readVectorText(tcbFile), 'tcbInfo');
      const qe = extractSignedJson(readVectorText(qeFile), 'enclaveIdentity');
      assert.equal(tcb.json, c.tcb_info, name);
      assert.equal(Buffer.from(tcb.signature).toString('hex'), c.tcb_info_signature.toLowerCase(), name);
      assert.equal(qe.json, c.qe_identity, name);
      assert.equal(Buffer.from(qe.signature).toString('hex'), c.qe_identity_signature.toLowerCase(), name);
    }
  });

  test('keeps whitespace, escapes and number spellings that JSON.stringify would rewrite', () => {
    const inner = '{ "id" : "SGX",\n\t"s":"a\\u00e9\\/}{\\"", "n": 1.0e0, "a":[ 1 , {"b":[]} ] }';
    const body = `\n {  "signature" : "${SIG}" ,\r\n "tcbInfo"   :${inner}  }\n`;
    const r = extractSignedJson(body, 'tcbInfo');
    assert.equal(r.json, inner);
    assert.notEqual(JSON.stringify(JSON.parse(body).tcbInfo), inner);
    assert.equal(r.signature.length, 64);
  });

  const bad: Array<[string, string, string]> = [
    ['duplicate inner key', `{"tcbInfo":{},"tcbInfo":{"x":1},"signature":"${SIG}"}`, 'ERR_COLLATERAL_MALFORMED'],
    ['missing signature', '{"tcbInfo":{}}', 'ERR_COLLATERAL_MALFORMED'],
    ['signature not a string', '{"tcbInfo":{},"signature":1}', 'ERR_COLLATERAL_MALFORMED'],
    ['short signature', '{"tcbInfo":{},"signature":"abcd"}', 'ERR_COLLATERAL_MALFORMED'],
    ['inner not an object', `{"tcbInfo":"{}","signature":"${SIG}"}`, 'ERR_COLLATERAL_MALFORMED'],
    ['inner missing', `{"enclaveIdentity":{},"signature":"${SIG}"}`, 'ERR_COLLATERAL_MALFORMED'],
    ['truncated', `{"tcbInfo":{"a":[1,2`, 'ERR_COLLATERAL_MALFORMED'],
    ['unterminated string', `{"tcbInfo":{"a":"x}}`, 'ERR_COLLATERAL_MALFORMED'],
    ['trailing data', `{"tcbInfo":{},"signature":"${SIG}"}x`, 'ERR_COLLATERAL_MALFORMED'],
    ['bad literal', `{"tcbInfo":{"a":tru},"signature":"${SIG}"}`, 'ERR_COLLATERAL_MALFORMED'],
    ['top level array', `[{"tcbInfo":{}}]`, 'ERR_COLLATERAL_MALFORMED'],
    ['too deep', `{"tcbInfo":${'['.repeat(100)}${']'.repeat(100)},"signature":"${SIG}"}`, 'ERR_COLLATERAL_MALFORMED'],
    ['empty', '', 'ERR_COLLATERAL_MALFORMED'],
  ];
  for (const [name, body, c] of bad) {
    test(`rejects: ${name}`, () => assert.throws(() => extractSignedJson(body, 'tcbInfo'), code(c)));
  }

  test('any JSON object is cut out exactly, whatever its formatting', () => {
    const obj = fc.dictionary(fc.string(), fc.jsonValue());
    fc.assert(
      fc.property(obj, fc.nat(4), fc.constantFrom(' ', '\n', '\t', '\r\n'), (o, indent, ws) => {
        const inner = JSON.stringify(o, null, indent);
        const body = `{${ws}"signature":"${SIG}",${ws}"tcbInfo":${ws}${inner}${ws}}`;
        assert.equal(extractSignedJson(body, 'tcbInfo').json, inner);
      }),
      { numRuns: 300 },
    );
  });

  test('arbitrary input throws only typed errors', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
        for (const body of [s, `{"tcbInfo":${s},"signature":"${SIG}"}`]) {
          try {
            extractSignedJson(body, 'tcbInfo');
          } catch (e) {
            assert.ok(e instanceof RatlsError, String(e));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
