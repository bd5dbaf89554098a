import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readVector, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import fc from 'fast-check';
import { RatlsError } from '../errors.js';
import { certificateParts } from './certificate-parts.js';
import { parseVcekExtensions } from './vcek-extensions.js';

test('der: VCEK parts (RSA-PSS outer algorithm, AMD extensions)', { skip: SKIP_NO_VECTORS }, () => {
  const p = certificateParts(readVector('sev-snp/google-go-sev-guest/vcek.testcer'));
  assert.equal(p.signatureAlgorithm.oid, '1.2.840.113549.1.1.10');
  assert.ok((p.signatureAlgorithm.params?.length ?? 0) > 10);
  assert.equal(Buffer.from(p.extensions.get('1.3.6.1.4.1.3704.1.3.3') as Uint8Array).toString('hex'), '020105');
});

test('der: mutated and truncated certificates only raise typed errors', { skip: SKIP_NO_VECTORS }, () => {
  const vcek = readVector('sev-snp/trustee/test-vcek.der');
  fc.assert(
    fc.property(fc.nat(vcek.length - 1), fc.integer({ min: 0, max: 255 }), fc.nat(vcek.length), (i, v, cut) => {
      const b = new Uint8Array(vcek);
      b[i] = v;
      for (const input of [b, b.subarray(0, cut)]) {
        try {
          parseVcekExtensions(input);
        } catch (e) {
          assert.ok(e instanceof RatlsError, String(e));
          assert.equal(e.code, 'ERR_SNP_VCEK_INVALID');
        }
      }
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      try {
        certificateParts(b);
      } catch (e) {
        assert.ok(e instanceof RatlsError, String(e));
      }
    }),
  );
});
