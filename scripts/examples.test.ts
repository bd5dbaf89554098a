/**
 * Every program in examples/ runs on the simulated TEE and shows both outcomes: the enclave the
 * policy names gets through, the other one is refused. The Redis example needs redis-server
 * (installed by .ci/run); it is skipped only outside CI when the binary is absent.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { haveBinary } from '@ratls/test-support/gateway-helpers';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function runExample(name: string): string {
  const r = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(ROOT, 'examples', `${name}.ts`)],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 90_000,
    },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

describe('examples/', () => {
  test('server-client: the client attests the server; an impostor server is refused', () => {
    const out = runExample('server-client');
    assert.match(out, /^kms v1: accepted as kms, said: hello from the enclave$/m);
    assert.match(out, /^impostor: refused \(ERR_POLICY_REJECTED, measurement_mismatch\)$/m);
  });

  test('mutual-tls: each side attests the other; an unknown client build gets nothing', () => {
    const out = runExample('mutual-tls');
    assert.match(out, /^payments v3: server is kms; server said: hello payments$/m);
    assert.match(out, /^unknown build: .*refused/m);
  });

  test('fetch-dispatcher: fetch through the attested dispatcher; the wrong measurement is refused', () => {
    const out = runExample('fetch-dispatcher');
    assert.match(out, /^attested api answered 200: \{"balance":42\}$/m);
    assert.match(out, /^expecting api v1: refused before the request was sent \(ERR_POLICY_REJECTED\)$/m);
  });

  const noRedis = !haveBinary('redis-server') && !process.env.CI;
  test('gateway-redis: the gateway in front of Redis admits only the named enclave', {
    skip: noRedis ? 'redis-server not installed' : false,
  }, () => {
    const out = runExample('gateway-redis');
    assert.match(out, /^worker v1: \+PONG$/m);
    assert.match(out, /^worker v0: connection closed by the gateway \(refused\)$/m);
  });
});
