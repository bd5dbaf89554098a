import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideFraming } from './framing.js';

const decide = (rawHeaders: string[], method = 'POST', httpVersion = '1.1') =>
  decideFraming({ method, httpVersion, rawHeaders: ['Host', 'h', ...rawHeaders], maxBodyBytes: 1000, maxHeaders: 10 });
const reason = (...a: Parameters<typeof decide>) => {
  const d = decide(...a);
  return d.ok ? d.body.kind : `${d.refusal.status} ${d.refusal.reason}`;
};

describe('decideFraming', () => {
  it('refuses ambiguous or unsupported framing', () => {
    assert.equal(reason(['Transfer-Encoding', 'chunked', 'Content-Length', '3']), '400 te_and_cl');
    assert.equal(reason(['Content-Length', '3', 'Transfer-Encoding', 'chunked']), '400 te_and_cl');
    assert.equal(reason(['Transfer-Encoding', 'chunked, identity']), '400 invalid_transfer_encoding');
    assert.equal(reason(['Transfer-Encoding', 'identity']), '400 invalid_transfer_encoding');
    assert.equal(reason(['Transfer-Encoding', 'xchunked']), '400 invalid_transfer_encoding');
    assert.equal(reason(['Transfer-Encoding', 'chunked, chunked']), '400 invalid_transfer_encoding');
    assert.equal(reason(['Transfer-Encoding', ', chunked']), '400 invalid_transfer_encoding');
    assert.equal(reason(['Transfer-Encoding', 'identity, chunked']), '400 invalid_transfer_encoding');
    assert.equal(reason(['Transfer-Encoding', 'gzip, chunked']), '501 unsupported_transfer_coding');
    assert.equal(
      reason(['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked']),
      '400 invalid_transfer_encoding',
    );
    assert.equal(reason(['Transfer-Encoding', 'chunked'], 'POST', '1.0'), '400 te_in_http10');
    assert.equal(reason(['Content-Length', '3', 'Content-Length', '3']), '400 duplicate_content_length');
    assert.equal(reason(['Content-Length', '3, 3']), '400 duplicate_content_length');
    assert.equal(reason(['Content-Length', '+3']), '400 bad_content_length');
    assert.equal(reason(['Content-Length', '0x3']), '400 bad_content_length');
    assert.equal(reason(['Content-Length', '1001']), '413 body_too_large');
    assert.equal(reason([], 'CONNECT'), '501 connect_unsupported');
    assert.equal(reason(['Upgrade', 'h2c']), '501 upgrade_unsupported');
    assert.equal(reason(['Expect', 'bogus']), '417 expectation_unsupported');
    assert.equal(reason(['Expect', '100-continue', 'Expect', '100-continue']), '417 expectation_unsupported');
    assert.equal(reason(['Host', 'other']), '400 duplicate_host');
    assert.equal(reason(Array.from({ length: 10 }, (_, i) => [`X-${i}`, '1']).flat()), '431 too_many_headers');
    const d = decideFraming({ method: 'GET', httpVersion: '1.1', rawHeaders: [], maxBodyBytes: 1, maxHeaders: 10 });
    assert.equal(d.ok ? 'ok' : d.refusal.reason, 'missing_host');
  });

  it('accepts chunked in any case, exact lengths on any method, and no body', () => {
    assert.equal(reason(['Transfer-Encoding', 'Chunked']), 'chunked');
    assert.equal(reason(['Transfer-Encoding', 'CHUNKED']), 'chunked');
    assert.deepEqual(decide(['Content-Length', '3'], 'GET'), {
      ok: true,
      body: { kind: 'length', length: 3 },
      expectContinue: false,
    });
    assert.equal(reason(['Content-Length', '0']), 'none');
    assert.equal(reason([], 'HEAD'), 'none');
    assert.equal(reason([], 'GET', '1.0').startsWith('none'), true);
    const e = decide(['Expect', '100-Continue', 'Content-Length', '1']);
    assert.equal(e.ok && e.expectContinue, true);
  });
});
