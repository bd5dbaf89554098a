import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientHello } from '@ratls/test-support/client-hello';
import fc from 'fast-check';
import { PG_ERRORS } from './errors.js';
import { type CancelKey, gssencReader, sslRequestReader } from './pre-tls.js';
import { CANCEL_REQUEST_CODE, GSSENC_REQUEST_CODE, negotiationRequest, SSL_REQUEST_CODE } from './protocol.js';
import { encodeStartup } from './startup.js';

const cat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => [...p]));
const cancel = (pid: number, key: number, extra = 0) => {
  const b = Buffer.alloc(16 + extra);
  b.writeInt32BE(16 + extra, 0);
  b.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  b.writeInt32BE(pid, 8);
  b.writeUInt32BE(key, 12);
  return new Uint8Array(b);
};

describe('postgres pre-TLS readers', () => {
  const seen: CancelKey[] = [];
  const reader = sslRequestReader((k) => {
    seen.push(k);
    return k.pid === 42;
  });

  it('refuses bytes pipelined after SSLRequest (ERR_PG_PIPELINED), never answering S', () => {
    const v = reader.read(cat(negotiationRequest(SSL_REQUEST_CODE), clientHello(['postgresql'])));
    assert.equal(v.kind, 'refuse');
    assert.equal(v.kind === 'refuse' && v.code, PG_ERRORS.PIPELINED);
  });

  it('refuses bytes pipelined after GSSENCRequest (ERR_PG_PIPELINED)', () => {
    const v = gssencReader.read(cat(negotiationRequest(GSSENC_REQUEST_CODE), negotiationRequest(SSL_REQUEST_CODE)));
    assert.equal(v.kind === 'refuse' && v.code, PG_ERRORS.PIPELINED);
  });

  it('answers SSLRequest with S, consuming its 8 bytes', () => {
    assert.deepEqual(reader.read(negotiationRequest(SSL_REQUEST_CODE)), {
      kind: 'handoff',
      consumed: 8,
      reply: Uint8Array.of(0x53),
    });
    assert.deepEqual(reader.read(negotiationRequest(SSL_REQUEST_CODE).subarray(0, 5)), { kind: 'more' });
  });

  it('answers GSSENCRequest with N and leaves anything else to the next reader', () => {
    assert.deepEqual(gssencReader.read(negotiationRequest(GSSENC_REQUEST_CODE)), {
      kind: 'handoff',
      consumed: 8,
      reply: Uint8Array.of(0x4e),
    });
    assert.deepEqual(gssencReader.read(negotiationRequest(SSL_REQUEST_CODE)), { kind: 'handoff', consumed: 0 });
    assert.deepEqual(gssencReader.read(clientHello()), { kind: 'handoff', consumed: 0 });
  });

  it('refuses direct TLS without ALPN postgresql (ERR_PG_DIRECT_TLS_ALPN)', () => {
    for (const alpn of [undefined, ['http/1.1'], ['h2', 'postgres']]) {
      const v = reader.read(clientHello(alpn));
      assert.equal(v.kind === 'refuse' && v.code, PG_ERRORS.DIRECT_TLS_ALPN, String(alpn));
    }
  });

  it('hands direct TLS with ALPN postgresql to the TLS record check untouched', () => {
    assert.deepEqual(reader.read(clientHello(['http/1.1', 'postgresql'])), { kind: 'handoff', consumed: 0 });
    assert.deepEqual(reader.read(clientHello(['postgresql']).subarray(0, 20)), { kind: 'more' });
  });

  it('refuses a plaintext StartupMessage and a second GSSENCRequest (ERR_PG_TLS_REQUIRED)', () => {
    for (const b of [encodeStartup(196608, [['user', 'app']]), negotiationRequest(GSSENC_REQUEST_CODE)]) {
      const v = reader.read(b);
      assert.equal(v.kind === 'refuse' && v.code, PG_ERRORS.TLS_REQUIRED);
    }
  });

  it('hands a well-formed CancelRequest to the handler and refuses the socket either way', () => {
    const ok = reader.read(cancel(42, 7));
    assert.equal(ok.kind === 'refuse' && ok.code, PG_ERRORS.CANCEL_RELAYED);
    const forged = reader.read(cancel(43, 7));
    assert.equal(forged.kind === 'refuse' && forged.code, PG_ERRORS.CANCEL_UNKNOWN);
    assert.deepEqual(
      seen.map((k) => [k.pid, [...k.secret]]),
      [
        [42, [0, 0, 0, 7]],
        [43, [0, 0, 0, 7]],
      ],
    );
  });

  it('refuses a CancelRequest with trailing bytes or an impossible length without calling the handler', () => {
    const n = seen.length;
    const trailing = cat(cancel(42, 7), Uint8Array.of(1));
    assert.equal(
      reader.read(trailing).kind === 'refuse' && (reader.read(trailing) as { code: string }).code,
      PG_ERRORS.CANCEL_UNKNOWN,
    );
    const tooLong = Buffer.from(cancel(42, 7));
    tooLong.writeInt32BE(100_000, 0);
    const v = reader.read(new Uint8Array(tooLong));
    assert.equal(v.kind === 'refuse' && v.code, PG_ERRORS.CANCEL_UNKNOWN);
    assert.equal(seen.length, n);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        for (const r of [reader, gssencReader]) {
          const v = r.read(b);
          assert.ok(['more', 'refuse', 'handoff'].includes(v.kind));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
