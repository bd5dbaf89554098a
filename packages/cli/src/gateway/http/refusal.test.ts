import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attestationRefusal, REFUSAL_HEADER } from './refusal.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const said = (b: Uint8Array) => {
  const t = text(b);
  const header = new RegExp(`\\r\\n${REFUSAL_HEADER}: ([^\\r\\n]*)\\r\\n`).exec(t)?.[1];
  const body = JSON.parse(t.slice(t.indexOf('\r\n\r\n') + 4)) as { reason: string };
  return { header, body: body.reason };
};

describe('attestationRefusal: the 403 names a reason code only', () => {
  test('a reason code is echoed in the header and the body', () => {
    const b = attestationRefusal('measurement_mismatch');
    assert.match(text(b), /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.deepEqual(said(b), { header: 'measurement_mismatch', body: 'measurement_mismatch' });
  });

  test('a reason outside the refusal pattern is never echoed: it becomes "refused"', () => {
    for (const reason of [
      '',
      'Measurement_Mismatch',
      'a'.repeat(65),
      'mrenclave 1111 not in payments',
      'x\r\nset-cookie: a=b',
      'payments\u00e9',
    ]) {
      const b = attestationRefusal(reason);
      assert.deepEqual(said(b), { header: 'refused', body: 'refused' }, JSON.stringify(reason));
      assert.equal(text(b).includes(reason) && reason !== '', false, JSON.stringify(reason));
    }
  });

  test('the longest reason code the pattern allows is still echoed', () => {
    const reason = 'z'.repeat(64);
    assert.deepEqual(said(attestationRefusal(reason)), { header: reason, body: reason });
  });
});
