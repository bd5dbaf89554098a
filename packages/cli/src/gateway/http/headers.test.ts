import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalHeaderName, forwardRequestHeaders, forwardResponseHeaders } from './headers.js';

const FACTS = { identity: 'low-priv', tee: 'sgx', measurement: 'aa'.repeat(32), tcbStatus: 'UpToDate' };

describe('request header filtering', () => {
  it('removes identity headers in every spelling, framing, forwarding and operator-listed headers', () => {
    const h = forwardRequestHeaders(
      [
        'Host',
        'api',
        'X-Ratls-Identity',
        'payments-admin',
        'x_ratls_identity',
        'payments-admin',
        'X_RATLS_IDENTITY',
        'payments-admin',
        'X-Ratls_Tee',
        'nitro',
        'Content-Length',
        '5',
        'Content_Length',
        '5',
        'Transfer_Encoding',
        'chunked',
        'X_Forwarded_For',
        '6.6.6.6',
        'X-Forwarded-Host',
        'evil',
        'Forwarded',
        'for=6.6.6.6',
        'X-Real-IP',
        '6.6.6.6',
        'X-Internal-Token',
        't',
        'x_internal_token',
        't',
        'Expect',
        '100-continue',
        'Connection',
        'host, content-length, x-keep',
        'X-Keep',
        'gone',
        'Accept',
        '*/*',
      ],
      FACTS,
      '10.0.0.1',
      { strip: ['X_Internal_Token'] },
    );
    assert.deepEqual(h, {
      host: 'api',
      accept: '*/*',
      'x-forwarded-for': '10.0.0.1',
      'x-forwarded-proto': 'https',
      'x-ratls-identity': 'low-priv',
      'x-ratls-tee': 'sgx',
      'x-ratls-measurement': 'aa'.repeat(32),
      'x-ratls-tcb-status': 'UpToDate',
    });
  });

  it('canonicalHeaderName lowercases and maps _ to -', () => {
    assert.equal(canonicalHeaderName('X_RATLS_Identity'), 'x-ratls-identity');
  });

  it("no header whose canonical name is an identity header survives, except the gateway's (property)", () => {
    const spelling = fc
      .array(fc.constantFrom('-', '_'), { minLength: 2, maxLength: 2 })
      .chain(([a, b]) =>
        fc.constantFrom('identity', 'tee', 'measurement', 'tcb-status', 'x').map((n) => `x${a}ratls${b}${n}`),
      )
      .chain((n) =>
        fc
          .array(fc.boolean(), { minLength: n.length, maxLength: n.length })
          .map((up) => [...n].map((c, i) => (up[i] ? c.toUpperCase() : c)).join('')),
      );
    fc.assert(
      fc.property(fc.array(fc.tuple(spelling, fc.string({ maxLength: 8 })), { maxLength: 8 }), (pairs) => {
        const h = forwardRequestHeaders(pairs.flat(), FACTS, undefined);
        for (const [k, v] of Object.entries(h)) {
          if (canonicalHeaderName(k).startsWith('x-ratls-')) assert.ok(Object.values(FACTS).includes(v as string), k);
          assert.ok(!k.includes('_'), k);
        }
      }),
    );
  });
});

/** The forwarding rules as a whole, for an identity with a TCB status. */
const PAYMENTS_FACTS = { identity: 'payments', tee: 'sgx', measurement: 'aa'.repeat(32), tcbStatus: 'UpToDate' };

describe('HTTP header forwarding', () => {
  it('removes every client x-ratls-* copy in any case, hop-by-hop and Connection-named headers', () => {
    const raw = [
      'Host',
      'api',
      'X-RATLS-IDENTITY',
      'admin',
      'x-ratls-identity',
      'root',
      'X-Ratls-Tee',
      'nitro',
      'x-ratls-other',
      '1',
      'Connection',
      'keep-alive, X-Secret-Hop',
      'X-Secret-Hop',
      'drop me',
      'Keep-Alive',
      'timeout=5',
      'TE',
      'trailers',
      'Transfer-Encoding',
      'chunked',
      'Cookie',
      'a=1',
      'Cookie',
      'b=2',
      'X-Forwarded-For',
      '6.6.6.6',
      'Accept',
      'a',
      'accept',
      'b',
    ];
    const h = forwardRequestHeaders(raw, PAYMENTS_FACTS, '::ffff:10.1.2.3');
    assert.deepEqual(h, {
      host: 'api',
      cookie: 'a=1; b=2',
      accept: ['a', 'b'],
      'x-forwarded-for': '10.1.2.3',
      'x-forwarded-proto': 'https',
      'x-ratls-identity': 'payments',
      'x-ratls-tee': 'sgx',
      'x-ratls-measurement': 'aa'.repeat(32),
      'x-ratls-tcb-status': 'UpToDate',
    });
  });

  it('never lets a client-chosen x-ratls-* value through (property)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.stringMatching(/^[xX]-[rR][aA][tT][lL][sS]-[a-zA-Z-]{1,12}$/), fc.string({ maxLength: 20 })),
          { maxLength: 8 },
        ),
        (pairs) => {
          const h = forwardRequestHeaders(pairs.flat(), PAYMENTS_FACTS, undefined);
          for (const [k, v] of Object.entries(h)) {
            if (k.startsWith('x-ratls-'))
              assert.ok(Object.values(PAYMENTS_FACTS).includes(v as string), `${k}=${String(v)}`);
          }
        },
      ),
    );
  });

  it('drops hop-by-hop response headers and keeps repeated ones', () => {
    const h = forwardResponseHeaders([
      'Connection',
      'close',
      'Set-Cookie',
      'a',
      'set-cookie',
      'b',
      'Content-Type',
      'text/plain',
      'Transfer-Encoding',
      'chunked',
    ]);
    assert.deepEqual(h, { 'set-cookie': ['a', 'b'], 'content-type': 'text/plain' });
  });
});
