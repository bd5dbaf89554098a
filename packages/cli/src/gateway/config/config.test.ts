import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS, parseGatewayConfig, parseHostPort } from './config.js';
import { refuse, SRC } from './refuse.test-helper.js';

const BASE = `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: ./sim/collateral.json
policy: ./policy.yaml
admin: 127.0.0.1:9090
listeners:
  - name: api
    listen: 127.0.0.1:8443
    tls: { cert: ./server.crt, key: /abs/server.key }
    forward: { http: http://127.0.0.1:8080 }
  - name: cache
    listen: "[::1]:6380"
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: 127.0.0.1:6379, proxyProtocol: true }
    policy: ./cache-policy.yaml
  - name: pg
    listen: 127.0.0.1:5433
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { unix: /run/postgresql/.s.PGSQL.5432 }
`;

describe('gateway config', () => {
  it('normalizes paths against the file, addresses, forwards and default limits', () => {
    const c = parseGatewayConfig(BASE, SRC);
    assert.deepEqual(c.trust.anchors, ['/etc/ratls/sim/root.pem']);
    assert.deepEqual(c.trust.collateral, { kind: 'files', paths: ['/etc/ratls/sim/collateral.json'] });
    assert.equal(c.policy, '/etc/ratls/policy.yaml');
    assert.equal(c.audit, 'stdout');
    assert.deepEqual(c.admin, { host: '127.0.0.1', port: 9090 });
    assert.deepEqual(c.limits, DEFAULT_LIMITS);
    const [api, cache, pg] = c.listeners;
    assert.deepEqual(api?.tls, { cert: '/etc/ratls/server.crt', key: '/abs/server.key' });
    assert.equal(api?.forward.kind, 'http');
    assert.equal(api?.policy, '/etc/ratls/policy.yaml');
    assert.deepEqual(cache?.listen, { host: '::1', port: 6380 });
    assert.deepEqual(cache?.forward, { kind: 'tcp', host: '127.0.0.1', port: 6379, proxyProtocol: true });
    assert.equal(cache?.policy, '/etc/ratls/cache-policy.yaml');
    assert.deepEqual(pg?.forward, { kind: 'unix', path: '/run/postgresql/.s.PGSQL.5432', proxyProtocol: false });
  });

  it('listener limits: a listener may set its own admission limits over the gateway-wide ones', () => {
    const c = parseGatewayConfig(
      `${BASE.replace(
        '    policy: ./cache-policy.yaml\n',
        '    policy: ./cache-policy.yaml\n    limits: { clientHelloTimeoutMs: 500, maxPendingPerSource: 4 }\n',
      )}limits: { maxPendingPerSource: 16, maxConnections: 100 }\n`,
      SRC,
    );
    assert.equal(c.limits.clientHelloTimeoutMs, 3000);
    assert.deepEqual(c.listeners[0]?.limits, {
      handshakeTimeoutMs: 10_000,
      clientHelloTimeoutMs: 3000,
      maxPendingPerSource: 16,
      maxConnections: 100,
    });
    assert.deepEqual(c.listeners[1]?.limits, {
      handshakeTimeoutMs: 10_000,
      clientHelloTimeoutMs: 500,
      maxPendingPerSource: 4,
      maxConnections: 100,
    });
  });

  it('listener limits: only admission limits, each bounded', () => {
    const withLimits = (l: string) =>
      BASE.replace('    policy: ./cache-policy.yaml\n', `    policy: ./cache-policy.yaml\n    limits: ${l}\n`);
    // idleTimeoutMs became a listener limit (issue 14); drainTimeoutMs stays gateway-wide.
    assert.match(refuse(withLimits('{ drainTimeoutMs: 5 }')), /listeners\[1\]\.limits: .*drainTimeoutMs/);
    assert.match(refuse(withLimits('{ idleTimeoutMs: -1 }')), /listeners\[1\]\.limits\.idleTimeoutMs: /);
    assert.match(refuse(withLimits('{ maxPendingPerSource: 0 }')), /listeners\[1\]\.limits\.maxPendingPerSource: /);
    assert.match(
      refuse(withLimits('{ clientHelloTimeoutMs: 600000 }')),
      /listeners\[1\]\.limits\.clientHelloTimeoutMs: /,
    );
  });

  it('workers: default 1, a count or "auto"; 0, fractions and other words refused', () => {
    assert.equal(parseGatewayConfig(BASE, SRC).workers, 1);
    assert.equal(parseGatewayConfig(`workers: 2\n${BASE}`, SRC).workers, 2);
    assert.ok(parseGatewayConfig(`workers: auto\n${BASE}`, SRC).workers >= 1);
    for (const bad of ['0', '1.5', 'many', '1000']) assert.match(refuse(`workers: ${bad}\n${BASE}`), /workers/);
  });

  it('accepts pccs with a cache dir and an audit file', () => {
    const c = parseGatewayConfig(
      BASE.replace(
        '  collateral: ./sim/collateral.json\n',
        '  pccs: https://pccs.internal:8081/\n  cacheDir: ./cache\n',
      ).replace('policy: ./policy.yaml\n', 'policy: ./policy.yaml\naudit: { file: ./audit.jsonl }\n'),
      SRC,
    );
    assert.deepEqual(c.trust.collateral, {
      kind: 'pccs',
      url: 'https://pccs.internal:8081/',
      cacheDir: '/etc/ratls/cache',
    });
    assert.deepEqual(c.audit, { file: '/etc/ratls/audit.jsonl' });
    assert.equal(c.trust.anchors?.length, 1);
  });

  it('locates an unknown key at its line', () => {
    const msg = refuse(
      BASE.replace(
        '    forward: { http: http://127.0.0.1:8080 }',
        '    forward: { http: http://127.0.0.1:8080 }\n    frward: x',
      ),
    );
    assert.match(msg, /^\/etc\/ratls\/gateway\.yaml:12:5: listeners\[0\]: .*frward/);
  });

  it('locates a bad address, a bad limit and a bad version', () => {
    assert.match(
      refuse(BASE.replace('listen: 127.0.0.1:8443', 'listen: 127.0.0.1:99999')),
      /:9:13: listeners\[0\]\.listen: expected host:port/,
    );
    assert.match(refuse(`${BASE}limits: { maxConnections: -1 }\n`), /:21:\d+: limits\.maxConnections: /);
    assert.match(refuse(BASE.replace('version: 1', 'version: 2')), /:1:10: version: /);
  });

  it('refuses duplicates, both collateral kinds, no collateral, YAML syntax errors', () => {
    assert.match(
      refuse(BASE.replace('name: cache', 'name: api')),
      /:12:\d+: listeners\[1\]\.name: duplicate listener name api/,
    );
    assert.match(
      refuse(BASE.replace('listen: 127.0.0.1:5433', 'listen: 127.0.0.1:8443')),
      /is used by another listener/,
    );
    assert.match(
      refuse(BASE.replace('  collateral: ./sim/collateral.json\n', '  collateral: ./c.json\n  pccs: https://p/\n')),
      /either collateral files or pccs/,
    );
    assert.match(
      refuse(BASE.replace('  collateral: ./sim/collateral.json\n', '')),
      /:3:3: trust: collateral .* or pccs .* is required/,
    );
    assert.match(refuse('version: 1\nlisteners: [\n'), /^\/etc\/ratls\/gateway\.yaml:\d+:\d+: /);
    assert.match(
      refuse(BASE.replace('{ http: http://127.0.0.1:8080 }', '{ http: ftp://x/ }')),
      /listeners\[0\]\.forward/,
    );
  });

  it('parses host:port forms', () => {
    assert.deepEqual(parseHostPort('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseHostPort('localhost:80'), { host: 'localhost', port: 80 });
    assert.equal(parseHostPort('::1:80'), undefined);
    assert.equal(parseHostPort('127.0.0.1'), undefined);
    assert.equal(parseHostPort('127.0.0.1:65536'), undefined);
  });
});
