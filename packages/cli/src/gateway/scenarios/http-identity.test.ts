/**
 * An accepted client reaches the HTTP backend with identity headers only the gateway sets: every
 * client copy of x-ratls-* (any case) and x-forwarded-for is replaced, one audit event per attempt.
 * In-process gateway over the shared HTTP scenario (@ratls/test-support/gateway-helpers): stand-in
 * certificate verifier, real policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  GOOD,
  type HttpScenario,
  haveBinary,
  httpScenario,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: HTTP identity headers', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let s: HttpScenario<Gateway>;
  before(async () => {
    s = await httpScenario(startGateway);
  });
  after(async () => {
    await s?.close();
  });

  it('forwards an accepted client with identity headers and strips spoofed x-ratls-*', {
    skip: !haveBinary('curl'),
  }, async () => {
    const before = s.handshakes().length;
    const r = await s.curl('good', '/hello?x=1', [
      '-H',
      'x-ratls-identity: admin',
      '-H',
      'X-RATLS-TEE: nitro',
      '-H',
      'X-Ratls-Identity: root',
      '-H',
      'x-forwarded-for: 1.2.3.4',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as EchoBackend['requests'][number];
    assert.equal(seen.url, '/base/hello?x=1');
    assert.equal(seen.headers['x-ratls-identity'], 'payments');
    assert.equal(seen.headers['x-ratls-tee'], 'sgx');
    assert.equal(seen.headers['x-ratls-measurement'], GOOD);
    assert.equal(seen.headers['x-ratls-tcb-status'], 'UpToDate');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    const ratls = seen.rawHeaders.filter((_, i) => i % 2 === 0).filter((n) => n.toLowerCase().startsWith('x-ratls-'));
    assert.deepEqual(ratls.sort(), ['x-ratls-identity', 'x-ratls-measurement', 'x-ratls-tcb-status', 'x-ratls-tee']);
    assert.equal(s.handshakes().length, before + 1);
    assert.equal(s.handshakes().at(-1)?.event.outcome, 'success');
  });
});
