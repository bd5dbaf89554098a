import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encode } from 'cbor2';
import fc from 'fast-check';
import { RatlsError } from '../errors.js';
import { CHANNEL_FRAME_HEADER_BYTES, encodeChannelFrame, readChannelFrame, startsChannelFrame } from './frame.js';

function frame(type: number, body: Uint8Array, version = 1): Uint8Array {
  const out = new Uint8Array(CHANNEL_FRAME_HEADER_BYTES + body.byteLength);
  out.set([0x52, 0x41, 0x43, 0x48, version, type]);
  new DataView(out.buffer).setUint32(6, body.byteLength);
  out.set(body, CHANNEL_FRAME_HEADER_BYTES);
  return out;
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RatlsError);
    return e.code;
  }
  return 'no error';
}

describe('channel framing', () => {
  test('refusal: the reason code round-trips; anything else as a reason, or another key, is refused', () => {
    const r = readChannelFrame(encodeChannelFrame({ type: 'refusal', reason: 'measurement_mismatch' }));
    assert.notEqual(r, 'more');
    if (r !== 'more') assert.deepEqual(r.message, { type: 'refusal', reason: 'measurement_mismatch' });
    assert.equal(
      code(() => encodeChannelFrame({ type: 'refusal', reason: 'payments enclave' })),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    const bad = (body: unknown) => code(() => readChannelFrame(frame(3, encode(body, { cde: true }))));
    assert.equal(bad(new Map([[1, 'Measurement mismatch']])), 'ERR_CHANNEL_FRAME_INVALID');
    assert.equal(bad(new Map([[1, 'x'.repeat(65)]])), 'ERR_CHANNEL_FRAME_INVALID');
    assert.equal(bad(new Map([[1, new Uint8Array([1])]])), 'ERR_CHANNEL_FRAME_INVALID');
    assert.equal(bad(new Map()), 'ERR_CHANNEL_FRAME_INVALID');
    assert.equal(
      bad(
        new Map<number, string>([
          [1, 'a'],
          [2, 'b'],
        ]),
      ),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    assert.equal(
      code(() => readChannelFrame(frame(4, encode(new Map(), { cde: true })))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
  });

  test('hello and answer round-trip; the rest after a frame is returned untouched', () => {
    const nonce = new Uint8Array(32).fill(7);
    const h = encodeChannelFrame({ type: 'hello', nonce });
    const tail = new TextEncoder().encode('GET / HTTP/1.1\r\n');
    const r = readChannelFrame(new Uint8Array([...h, ...tail]));
    assert.notEqual(r, 'more');
    if (r === 'more') return;
    assert.deepEqual(r.message, { type: 'hello', nonce });
    assert.deepEqual(r.rest, tail);
    const a = readChannelFrame(
      encodeChannelFrame({ type: 'answer', tee: 'tdx', evidence: new Uint8Array([1, 2, 3]), aux: new Uint8Array([9]) }),
    );
    assert.notEqual(a, 'more');
    if (a !== 'more')
      assert.deepEqual(a.message, {
        type: 'answer',
        tee: 'tdx',
        evidence: new Uint8Array([1, 2, 3]),
        aux: new Uint8Array([9]),
      });
    const empty = readChannelFrame(encodeChannelFrame({ type: 'hello' }));
    assert.ok(empty !== 'more' && empty.message.type === 'hello' && !('nonce' in empty.message));
  });

  test('incomplete frames ask for more; application data is told apart by its first byte', () => {
    const h = encodeChannelFrame({ type: 'hello' });
    for (let i = 0; i < h.byteLength; i++) assert.equal(readChannelFrame(h.subarray(0, i)), 'more');
    assert.equal(startsChannelFrame(new TextEncoder().encode('GET ')), 'no');
    assert.equal(startsChannelFrame(new Uint8Array([0x52, 0x41])), 'maybe');
    assert.equal(
      code(() => readChannelFrame(new TextEncoder().encode('PING\r\n'))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
  });

  test('oversized: refused from the header alone, before the body arrives', () => {
    const header = frame(2, new Uint8Array(0));
    new DataView(header.buffer).setUint32(6, 70_000);
    assert.equal(
      code(() => readChannelFrame(header, 64 * 1024)),
      'ERR_CHANNEL_FRAME_TOO_LARGE',
    );
    new DataView(header.buffer).setUint32(6, 0xffffffff);
    assert.equal(
      code(() => readChannelFrame(header, Number.MAX_SAFE_INTEGER)),
      'ERR_CHANNEL_FRAME_TOO_LARGE',
    );
  });

  test('strict body: version, type, unknown keys, wrong types, non-deterministic CBOR, unknown media type', () => {
    const ok = encode(new Map([[1, new Uint8Array(32)]]), { cde: true });
    assert.equal(
      code(() => readChannelFrame(frame(1, ok, 2))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    assert.equal(
      code(() => readChannelFrame(frame(9, ok))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    const extra = encode(
      new Map<number, unknown>([
        [1, new Uint8Array(32)],
        [3, 1],
      ]),
      { cde: true },
    );
    assert.equal(
      code(() => readChannelFrame(frame(1, extra))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    const short = encode(new Map([[1, new Uint8Array(16)]]), { cde: true });
    assert.equal(
      code(() => readChannelFrame(frame(1, short))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    // Same map, nonce length written in a long form: valid CBOR, but not the one deterministic encoding.
    const long = new Uint8Array([0xa1, 0x01, 0x59, 0x00, 0x20, ...new Uint8Array(32)]);
    assert.equal(
      code(() => readChannelFrame(frame(1, long))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    const badType = encode(new Map([[1, ['application/x-unknown', new Uint8Array([1])]]]), { cde: true });
    assert.equal(
      code(() => readChannelFrame(frame(2, badType))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    const notMap = encode([1, 2], { cde: true });
    assert.equal(
      code(() => readChannelFrame(frame(2, notMap))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
    assert.equal(
      code(() => readChannelFrame(frame(2, new Uint8Array([0xff, 0x00])))),
      'ERR_CHANNEL_FRAME_INVALID',
    );
  });

  test('property: arbitrary bytes never throw anything but the typed frame errors', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 2 }), (body, type) => {
        for (const input of [body, frame(type, body)]) {
          try {
            readChannelFrame(input);
          } catch (e) {
            assert.ok(e instanceof RatlsError);
            assert.match(e.code, /^ERR_CHANNEL_FRAME_(INVALID|TOO_LARGE)$/);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
