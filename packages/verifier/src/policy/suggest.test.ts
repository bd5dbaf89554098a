import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { parsePolicy } from './parse.js';
import { policySchema } from './schema.js';
import { closestName, knownKeysAt, unknownKeyMessage } from './suggest.js';

describe('did-you-mean for unknown keys', () => {
  test('closestName: typos within a third of the length, case-insensitive; nothing for unrelated words', () => {
    assert.equal(closestName('mrEnclav', ['mrEnclave', 'mrSigner']), 'mrEnclave');
    assert.equal(closestName('MRSIGNER', ['mrEnclave', 'mrSigner']), 'mrSigner');
    assert.equal(closestName('tcbstatus', ['tcbStatus', 'debug']), 'tcbStatus');
    assert.equal(closestName('banana', ['mrEnclave', 'mrSigner']), undefined);
    assert.equal(closestName('x', []), undefined);
  });

  test('knownKeysAt walks objects, lists and unions of the schema', () => {
    const s = z.strictObject({
      a: z.array(z.union([z.strictObject({ b: z.string() }), z.strictObject({ c: z.number() })])),
    });
    assert.deepEqual(knownKeysAt(s, []), ['a']);
    assert.deepEqual(knownKeysAt(s, ['a', 0]).sort(), ['b', 'c']);
    assert.deepEqual(knownKeysAt(s, ['nope']), []);
    assert.deepEqual(knownKeysAt(policySchema, ['identities', 0, 'sgx']).sort(), [
      'attributes',
      'isvProdId',
      'minIsvSvn',
      'mrEnclave',
      'mrSigner',
    ]);
  });

  test('unknownKeyMessage suggests, else lists what is allowed', () => {
    assert.equal(unknownKeyMessage('mrEnclav', ['mrEnclave']), "unknown key 'mrEnclav' (did you mean 'mrEnclave'?)");
    assert.equal(unknownKeyMessage('zzz', ['a', 'b']), "unknown key 'zzz' (allowed here: a, b)");
    assert.equal(unknownKeyMessage('zzz', []), "unknown key 'zzz'");
  });

  test('a policy with a misspelt top-level key suggests the right one', () => {
    try {
      parsePolicy(`version: 1\nidentites: []\nidentities:\n  - name: a\n    sgx: { mrSigner: "${'00'.repeat(32)}" }\n`);
      assert.fail('accepted');
    } catch (e) {
      assert.equal((e as { code?: string }).code, 'ERR_POLICY_INVALID');
      assert.match((e as Error).message, /:2:1: identites: unknown key 'identites' \(did you mean 'identities'\?\)/);
    }
  });
});
