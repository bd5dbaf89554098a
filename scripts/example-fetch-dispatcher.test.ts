/**
 * examples/fetch-dispatcher.ts runs on the simulated TEE and shows both outcomes: the enclave the policy names
 * gets through, the other is refused. (One file per example: each spawn gets its own time budget.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runExample } from './run-example.js';

test('fetch-dispatcher: fetch through the attested dispatcher; the wrong measurement is refused', () => {
  const out = runExample('fetch-dispatcher');
  assert.match(out, /^attested api answered 200: \{"balance":42\}$/m);
  assert.match(out, /^expecting api v1: refused before the request was sent \(ERR_POLICY_REJECTED\)$/m);
});
