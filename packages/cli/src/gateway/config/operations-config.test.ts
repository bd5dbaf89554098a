/** Issue 16's configuration keys: adminAuth (and the loopback rule for admin), refusal per listener. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayConfig } from './config.js';
import { refuse, SRC } from './refuse.test-helper.js';

const config = (top: string, listener = '') => `version: 1
trust: { collateral: ./c.json }
policy: ./policy.yaml
${top}listeners:
  - name: api
    listen: 127.0.0.1:8443
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: http://127.0.0.1:8080 }
${listener}  - name: cache
    listen: 127.0.0.1:6380
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: 127.0.0.1:6379 }
`;

describe('gateway config: operations keys', () => {
  it('admin on loopback needs no token; beyond loopback it needs adminAuth.tokenFile', () => {
    assert.equal(parseGatewayConfig(config('admin: 127.0.0.1:9090\n'), SRC).adminAuth, undefined);
    assert.equal(parseGatewayConfig(config('admin: "[::1]:9090"\n'), SRC).admin?.host, '::1');
    for (const addr of ['0.0.0.0:9090', '10.0.0.5:9090', '"[::]:9090"']) {
      assert.match(
        refuse(config(`admin: ${addr}\n`)),
        /gateway\.yaml:\d+:\d+: admin: admin binds .*adminAuth\.tokenFile/,
      );
    }
    assert.match(refuse(config('admin: 0.0.0.0:9090\nadminAuth: { allowedHosts: [ratls.svc] }\n')), /tokenFile/);
    const ok = parseGatewayConfig(
      config('admin: 0.0.0.0:9090\nadminAuth: { tokenFile: ./admin.token, allowedHosts: [ratls-admin.default.svc] }\n'),
      SRC,
    );
    assert.deepEqual(ok.adminAuth, { tokenFile: '/etc/ratls/admin.token', allowedHosts: ['ratls-admin.default.svc'] });
  });

  it('adminAuth refuses unknown keys and host names that are not DNS names', () => {
    assert.match(refuse(config('adminAuth: { token: x }\n')), /adminAuth/);
    assert.match(refuse(config('adminAuth: { allowedHosts: ["evil.example/x"] }\n')), /DNS name/);
  });

  it('refusal: http-403 on an HTTP listener; refused on a TCP listener, unknown modes refused', () => {
    const c = parseGatewayConfig(config('', '    refusal: http-403\n'), SRC);
    assert.equal(c.listeners[0]?.refusal, 'http-403');
    assert.equal(c.listeners[1]?.refusal, undefined, 'off by default');
    const tcp = config('').replace(
      'forward: { tcp: 127.0.0.1:6379 }',
      'forward: { tcp: 127.0.0.1:6379 }\n    refusal: http-403',
    );
    assert.match(refuse(tcp), /listeners\[1\]\.refusal: refusal: http-403 needs an http forward/);
    assert.match(refuse(config('', '    refusal: tell-everything\n')), /refusal/);
  });

  it('refusal: channel only on a listener that speaks the channel exchange', () => {
    assert.match(
      refuse(config('', '    refusal: channel\n')),
      /refusal: channel needs a listener that speaks the channel exchange/,
    );
    const c = parseGatewayConfig(config('', '    refusal: channel\n    freshness: channel\n'), SRC);
    assert.equal(c.listeners[0]?.refusal, 'channel');
  });
});
