/**
 * Nitro cabundle roles: root first (byte-equal to the pinned anchor), then intermediates, then the
 * document's certificate, which is an end entity. Certificates valid in one position are refused in
 * another.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { simNitroChain, simNitroDoc } from '@ratls/test-support/nitro-testkit';
import { trustAnchorFrom } from '../trust.js';
import { verifyNitroChain } from './certs.js';
import { verifyNitroDocument } from './verify.js';

const AT = Date.parse('2024-01-01T02:00:00Z') / 1000;

function refuses(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { code?: string; message?: string };
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('Nitro chain roles', () => {
  test('root, intermediate, leaf in order is accepted', async () => {
    const s = await simNitroChain();
    verifyNitroChain(s.leafDer, [s.rootDer, s.interDer], AT, [trustAnchorFrom(s.rootDer)]);
  });

  test('swapped cabundle (intermediate first) → ERR_NITRO_ROOT_UNTRUSTED, also through the document', async () => {
    const s = await simNitroChain();
    const anchors = [trustAnchorFrom(s.rootDer)];
    refuses(() => verifyNitroChain(s.leafDer, [s.interDer, s.rootDer], AT, anchors), 'ERR_NITRO_ROOT_UNTRUSTED');
    await assert.rejects(
      verifyNitroDocument(await simNitroDoc(s, { cabundle: [s.interDer, s.rootDer] }), {
        at: AT,
        trustAnchors: anchors,
      }),
      { code: 'ERR_NITRO_ROOT_UNTRUSTED' },
    );
  });

  test('the root repeated in an intermediate position → ERR_NITRO_CHAIN_ROLE', async () => {
    const s = await simNitroChain();
    refuses(
      () => verifyNitroChain(s.leafDer, [s.rootDer, s.rootDer, s.interDer], AT, [trustAnchorFrom(s.rootDer)]),
      'ERR_NITRO_CHAIN_ROLE',
    );
  });

  test('an intermediate presented as the leaf (a CA) → ERR_NITRO_CHAIN_ROLE', async () => {
    const s = await simNitroChain();
    refuses(() => verifyNitroChain(s.interDer, [s.rootDer], AT, [trustAnchorFrom(s.rootDer)]), 'ERR_NITRO_CHAIN_ROLE');
  });

  test('the root presented as the leaf → ERR_NITRO_CHAIN_ROLE', async () => {
    const s = await simNitroChain();
    refuses(() => verifyNitroChain(s.rootDer, [s.rootDer], AT, [trustAnchorFrom(s.rootDer)]), 'ERR_NITRO_CHAIN_ROLE');
  });

  test('the leaf also placed in the cabundle → ERR_NITRO_CHAIN_ROLE', async () => {
    const s = await simNitroChain();
    refuses(
      () => verifyNitroChain(s.leafDer, [s.rootDer, s.interDer, s.leafDer], AT, [trustAnchorFrom(s.rootDer)]),
      'ERR_NITRO_CHAIN_ROLE',
    );
  });
});
