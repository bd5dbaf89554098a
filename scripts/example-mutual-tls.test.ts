/**
 * examples/mutual-tls.ts runs on the simulated TEE and shows both outcomes: the enclave the policy names
 * gets through, the other is refused. (One file per example: each spawn gets its own time budget.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runExample } from './run-example.js';

test('mutual-tls: each side attests the other; an unknown client build gets nothing', () => {
  const out = runExample('mutual-tls');
  assert.match(out, /^payments v3: server is kms; server said: hello payments$/m);
  assert.match(out, /^unknown build: .*refused/m);
});
