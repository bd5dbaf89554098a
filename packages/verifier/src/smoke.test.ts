import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromHex, RatlsError, toHex } from '@ratls/evidence';
import { HAVE_VECTORS, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';

test('workspace packages resolve to sources', () => {
  assert.equal(toHex(fromHex('0xAbCd')), 'abcd');
  assert.throws(
    () => fromHex('abc'),
    (e: unknown) => e instanceof RatlsError && e.code === 'ERR_HEX_INVALID',
  );
  // CI lays ../shared/vectors beside the clone: there, not finding them is a failure, not a skip.
  if (process.env.CI) assert.equal(HAVE_VECTORS, true);
});

test('x509 import point works', { skip: SKIP_NO_VECTORS }, async () => {
  const { x509 } = await import('@ratls/test-support/x509');
  const { readVectorText } = await import('@ratls/test-support/vectors');
  const c = new x509.X509Certificate(readVectorText('roots/intel_sgx_root_ca.pem'));
  assert.match(c.subject, /Intel SGX Root CA/);
});
