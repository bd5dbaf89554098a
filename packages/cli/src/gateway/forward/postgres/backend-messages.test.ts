import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { scanBackendStartup } from './backend-messages.js';

const msg = (type: string, body: number[]) => {
  const b = Buffer.alloc(5 + body.length);
  b[0] = type.charCodeAt(0);
  b.writeInt32BE(4 + body.length, 1);
  b.set(body, 5);
  return b;
};
const authOk = msg('R', [0, 0, 0, 0]);
const keyData = msg('K', [0, 0, 0x10, 0x92, 1, 2, 3, 4]);
const ready = msg('Z', [0x49]);

describe('scanBackendStartup', () => {
  it('records BackendKeyData and stops after ReadyForQuery', () => {
    const tail = Buffer.from('session bytes');
    const all = Buffer.concat([authOk, keyData, ready, tail]);
    const s = scanBackendStartup(all);
    assert.equal(s.kind, 'ready');
    assert.equal(s.kind === 'ready' && s.consumed, all.length - tail.length);
    assert.deepEqual(s.kind === 'ready' && s.keys.map((k) => [k.pid, [...k.secret]]), [[4242, [1, 2, 3, 4]]]);
  });

  it('passes on whole messages only while waiting', () => {
    const all = Buffer.concat([authOk, keyData.subarray(0, 6)]);
    assert.deepEqual(scanBackendStartup(all), { kind: 'more', consumed: authOk.length, keys: [] });
  });

  it('refuses a message length below 4 or above the bound, and a BackendKeyData of impossible size', () => {
    const tiny = Buffer.from(authOk);
    tiny.writeInt32BE(3, 1);
    const huge = Buffer.from(authOk);
    huge.writeInt32BE(2 ** 30, 1);
    const shortKey = msg('K', [0, 0, 0, 1]);
    for (const b of [tiny, huge, shortKey]) assert.equal(scanBackendStartup(b).kind, 'malformed');
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        assert.ok(['more', 'ready', 'malformed'].includes(scanBackendStartup(b).kind));
      }),
      { numRuns: 2000 },
    );
  });
});
