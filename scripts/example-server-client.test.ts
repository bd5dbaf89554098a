/**
 * examples/server-client.ts runs on the simulated TEE and shows both outcomes: the enclave the policy names
 * gets through, the other is refused. (One file per example: each spawn gets its own time budget.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runExample } from './run-example.js';

test('server-client: the client attests the server; an impostor server is refused', () => {
  const out = runExample('server-client');
  assert.match(out, /^kms v1: accepted as kms, said: hello from the enclave$/m);
  assert.match(out, /^impostor: refused \(ERR_POLICY_REJECTED, measurement_mismatch\)$/m);
});
