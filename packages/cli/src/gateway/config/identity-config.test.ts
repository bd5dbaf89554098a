/** Issue 15's `identity:` section: shape, lifetimes, and the listeners allowed to serve identities. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayConfig } from './config.js';
import { refuse, SRC } from './refuse.test-helper.js';

const IDENTITY = `identity:
  trustDomain: prod.example.org
  ca: { dir: ./identity-ca }
  ear: { issuer: "https://gw.example.org", keysDir: ./ear, audiences: [vault, vault] }
  listeners: [id]
`;
const config = (o: { identity?: string; top?: string; idListener?: string } = {}) => `version: 1
trust: { collateral: ./c.json }
policy: ./policy.yaml
${o.top ?? ''}${o.identity ?? IDENTITY}listeners:
  - name: api
    listen: 127.0.0.1:8443
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: http://127.0.0.1:8080 }
  - name: id
    listen: 127.0.0.1:8444
    tls: { cert: ./server.crt, key: ./server.key }
${o.idListener ?? '    freshness: channel\n'}`;

describe('gateway config: identity section', () => {
  it('normalizes: paths against the config folder, default TTL 15 min, max 1 h, audiences deduplicated', () => {
    const c = parseGatewayConfig(config(), SRC);
    assert.deepEqual(c.identity?.ca, { kind: 'dir', dir: '/etc/ratls/identity-ca' });
    assert.equal(c.identity?.defaultTtlSec, 900);
    assert.equal(c.identity?.maxTtlSec, 3600);
    assert.deepEqual(c.identity?.ear, {
      issuer: 'https://gw.example.org',
      keysDir: '/etc/ratls/ear',
      audiences: ['vault'],
    });
    assert.deepEqual(c.listeners.find((l) => l.name === 'id')?.forward, { kind: 'identity' });
    assert.equal(c.listeners.find((l) => l.name === 'id')?.connection.idleTimeoutMs, 300_000);
  });

  it('durations: 10m, 600s and 600 are the same; per-identity maxTtl; above 1 h or default above max refused', () => {
    const ttl = (d: string, m: string, extra = '') =>
      config({
        identity: `identity:\n  trustDomain: t.example\n  ca: { cert: ./ca.pem, key: ./ca.key }\n  defaultTtl: ${d}\n  maxTtl: ${m}\n${extra}  listeners: [id]\n`,
      });
    for (const d of ['10m', '600s', '600'])
      assert.equal(parseGatewayConfig(ttl(d, '1h'), SRC).identity?.defaultTtlSec, 600);
    const own = parseGatewayConfig(ttl('10m', '30m', '  identities: { payments: { maxTtl: 5m } }\n'), SRC);
    assert.deepEqual(own.identity?.identityMaxTtlSec, { payments: 300 });
    assert.match(refuse(ttl('10m', '2h')), /identity\.maxTtl: a lifetime between 60 s and 1 h/);
    assert.match(refuse(ttl('30m', '10m')), /identity\.defaultTtl: defaultTtl 1800 s is above maxTtl 600 s/);
    assert.match(refuse(ttl('10d', '1h')), /identity\.defaultTtl/);
  });

  it('a serving listener must require freshness: channel', () => {
    assert.match(
      refuse(config({ idListener: '' })),
      /identity\.listeners\[0\]: listener id serves identities, so it must say freshness: channel/,
    );
    assert.match(refuse(config({ idListener: '    freshness: certificate\n' })), /must say freshness: channel/);
  });

  it('a serving listener has no forward; every other listener needs one; unknown names refused', () => {
    assert.match(
      refuse(config({ idListener: '    freshness: channel\n    forward: { tcp: 127.0.0.1:9 }\n' })),
      /listener id serves identities \(identity\.listeners\): remove forward/,
    );
    assert.match(refuse(config({ identity: '' })), /listeners\[1\]: listener id needs forward/);
    assert.match(
      refuse(config({ identity: IDENTITY.replace('listeners: [id]', 'listeners: [id, nope]') })),
      /identity\.listeners\[1\]: no listener named nope/,
    );
  });

  it('never the admin port', () => {
    assert.match(refuse(config({ top: 'admin: 127.0.0.1:8444\n' })), /on the admin port/);
  });

  it('workers > 1 with EAR tokens need ear.keysDir (every worker signs with the published keys)', () => {
    const noDir = IDENTITY.replace(', keysDir: ./ear', '');
    assert.match(refuse(config({ identity: noDir, top: 'workers: 2\n' })), /identity\.ear\.keysDir: with workers > 1/);
    assert.equal(parseGatewayConfig(config({ top: 'workers: 2\n' }), SRC).identity?.ear?.keysDir, '/etc/ratls/ear');
  });

  it('strict shape: unknown keys, a bad trust domain, both ca forms', () => {
    assert.match(refuse(config({ identity: IDENTITY.replace('trustDomain:', 'bogus: 1\n  trustDomain:') })), /bogus/);
    assert.match(refuse(config({ identity: IDENTITY.replace('prod.example.org', 'Prod/Example') })), /trust domain/);
    assert.ok(
      refuse(config({ identity: IDENTITY.replace('{ dir: ./identity-ca }', '{ dir: ./a, cert: ./b, key: ./c }') })),
    );
  });
});
