import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientHello } from '@ratls/test-support/client-hello';
import fc from 'fast-check';
import { clientHelloAlpn } from './client-hello-alpn.js';

describe('clientHelloAlpn', () => {
  it('reads the offered protocols, or none', () => {
    assert.deepEqual(clientHelloAlpn(clientHello(['postgresql', 'h2'])), {
      kind: 'alpn',
      protocols: ['postgresql', 'h2'],
    });
    assert.deepEqual(clientHelloAlpn(clientHello()), { kind: 'alpn', protocols: [] });
  });

  it('waits for the whole first record', () => {
    const b = clientHello(['postgresql']);
    assert.deepEqual(clientHelloAlpn(b.subarray(0, b.length - 1)), { kind: 'more' });
  });

  it('refuses a ClientHello longer than its record (fragmented)', () => {
    const b = clientHello(['postgresql']);
    b[7] = (b[7] as number) + 1; // handshake length low byte
    assert.equal(clientHelloAlpn(b).kind, 'malformed');
  });

  it('refuses an ALPN list whose length disagrees with its extension', () => {
    const b = clientHello(['postgresql']);
    const i = b.length - 'postgresql'.length - 2; // list length low byte
    b[i] = (b[i] as number) + 1;
    assert.equal(clientHelloAlpn(b).kind, 'malformed');
  });

  it('refuses a repeated ALPN extension', () => {
    const one = clientHello(['postgresql']);
    // Double the extensions block and fix the three enclosing lengths.
    const ext = one.subarray(one.length - 17);
    const body = Buffer.concat([
      Buffer.from(one.subarray(9, one.length - 19)),
      Buffer.from([0, ext.length * 2]),
      ext,
      ext,
    ]);
    const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
    const rec = Buffer.concat([Buffer.from([0x16, 3, 1, hs.length >> 8, hs.length & 0xff]), hs]);
    assert.deepEqual(clientHelloAlpn(new Uint8Array(rec)), { kind: 'malformed', why: 'ALPN extension repeated' });
  });

  it('never throws on arbitrary records', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (payload) => {
        const rec = Uint8Array.from([0x16, 3, 1, payload.length >> 8, payload.length & 0xff, ...payload]);
        assert.ok(['more', 'alpn', 'malformed'].includes(clientHelloAlpn(rec).kind));
      }),
      { numRuns: 2000 },
    );
  });
});
