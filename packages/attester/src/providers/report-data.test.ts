import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProviderError } from '@ratls/evidence';
import fc from 'fast-check';
import { checkEchoedReportData, reportDataOffset } from './report-data.js';

function quoteHeader(version: number, teeType: number, len: number): Uint8Array {
  const q = new Uint8Array(len);
  const dv = new DataView(q.buffer);
  dv.setUint16(0, version, true);
  dv.setUint32(4, teeType, true);
  return q;
}

describe('report data offsets', () => {
  test('SGX v3/v4 at 368, SGX v5 at 374, TDX v4 at 568, TDX v5 at 574, SNP at 0x50', () => {
    assert.equal(reportDataOffset('sgx', quoteHeader(3, 0, 48), 't'), 368);
    assert.equal(reportDataOffset('sgx', quoteHeader(4, 0, 48), 't'), 368);
    assert.equal(reportDataOffset('sgx', quoteHeader(5, 0, 48), 't'), 374);
    assert.equal(reportDataOffset('tdx', quoteHeader(4, 0x81, 48), 't'), 568);
    assert.equal(reportDataOffset('tdx', quoteHeader(5, 0x81, 48), 't'), 574);
    assert.equal(reportDataOffset('sev-snp', new Uint8Array(0), 't'), 0x50);
  });

  test('wrong TEE type, version, short header, unsupported TEE', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof ProviderError);
        return e.code;
      }
      return 'none';
    };
    assert.equal(
      code(() => reportDataOffset('sgx', quoteHeader(4, 0x81, 48), 't')),
      'ERR_PROVIDER_UNEXPECTED_OUTPUT',
    );
    assert.equal(
      code(() => reportDataOffset('tdx', quoteHeader(3, 0x81, 48), 't')),
      'ERR_PROVIDER_UNEXPECTED_OUTPUT',
    );
    assert.equal(
      code(() => reportDataOffset('sgx', quoteHeader(6, 0, 48), 't')),
      'ERR_PROVIDER_UNEXPECTED_OUTPUT',
    );
    assert.equal(
      code(() => reportDataOffset('sgx', new Uint8Array(47), 't')),
      'ERR_PROVIDER_OUTPUT_TRUNCATED',
    );
    assert.equal(
      code(() => reportDataOffset('nitro', new Uint8Array(100), 't')),
      'ERR_PROVIDER_TEE_UNSUPPORTED',
    );
  });

  test('arbitrary bytes: only typed errors, never an exception from DataView', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('sgx', 'tdx', 'sev-snp', 'nitro') as fc.Arbitrary<'sgx' | 'tdx' | 'sev-snp' | 'nitro'>,
        fc.uint8Array({ maxLength: 800 }),
        (tee, bytes) => {
          try {
            checkEchoedReportData(tee, bytes, new Uint8Array(64), 'prop');
          } catch (e) {
            assert.ok(e instanceof ProviderError, String(e));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
