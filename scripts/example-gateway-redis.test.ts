/**
 * examples/gateway-redis.ts runs on the simulated TEE and shows both outcomes: the enclave the policy names
 * gets through, the other is refused. (One file per example: each spawn gets its own time budget.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { haveBinary } from '@ratls/test-support/gateway-helpers';
import { runExample } from './run-example.js';

const noRedis = !haveBinary('redis-server') && !process.env.CI;
test('gateway-redis: the gateway in front of Redis admits only the named enclave', {
  skip: noRedis ? 'redis-server not installed' : false,
}, () => {
  const out = runExample('gateway-redis');
  assert.match(out, /^worker v1: \+PONG$/m);
  assert.match(
    out,
    /^worker v0: (refused by the gateway \(ERR_TLS_REFUSED_BY_SERVER\)|connection closed by the gateway \(refused\))$/m,
  );
});
