/**
 * Rejected clients (impostor measurement, debug enclave, no certificate; curl and openssl) get
 * nothing through to the backend, and each attempt is audited once with its reason.
 * In-process gateway over the shared HTTP scenario (@ratls/test-support/gateway-helpers): stand-in
 * certificate verifier, real policy, audit, forwarding and metrics; real clients.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type HttpScenario, haveBinary, httpScenario, run } from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { type Gateway, startGateway } from '../index.js';

describe('gateway scenario: rejected clients', {
  skip: HAVE_VECTORS ? false : 'needs a collateral vector',
}, () => {
  let s: HttpScenario<Gateway>;
  before(async () => {
    s = await httpScenario(startGateway);
  });
  after(async () => {
    await s?.close();
  });

  it('refuses impostor, debug and certificate-less clients; one audit event each; backend untouched', {
    skip: !haveBinary('curl'),
  }, async () => {
    const hits = s.backend.requests.length;
    const before = s.handshakes().length;
    for (const who of ['impostor', 'debug', null] as const) {
      const r = await s.curl(who, '/secret', ['-d', 'payload']);
      assert.notEqual(r.code, 0, `${who} got through: ${r.stdout}`);
    }
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(s.backend.requests.length, hits);
    const ev = s.handshakes().slice(before);
    assert.equal(ev.length, 3);
    assert.deepEqual(
      ev.map((e) => e.event.reason),
      ['measurement_mismatch', 'debug_not_allowed', 'verification_failed'],
    );
    assert.equal(ev[2]?.error?.code, 'ERR_TLS_NO_PEER_CERTIFICATE');
  });

  it('openssl s_client without a certificate gets nothing through', { skip: !haveBinary('openssl') }, async () => {
    const hits = s.backend.requests.length;
    const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${s.gw.addresses().api?.port}`, '-quiet'], {
      input: 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    });
    assert.doesNotMatch(r.stdout, /HTTP\/1\.1 200/);
    assert.equal(s.backend.requests.length, hits);
  });
});
