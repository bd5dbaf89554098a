import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayConfig } from './config.js';
import { refuse, SRC } from './refuse.test-helper.js';

const withForward = (forward: string) => `version: 1
trust: { anchors: [./sim/root.pem], collateral: ./sim/collateral.json }
policy: ./policy.yaml
listeners:
  - name: db
    listen: 127.0.0.1:5433
    tls: { cert: ./server.crt, key: ./server.key }
    forward: ${forward}
`;

describe('gateway config: forward.postgres', () => {
  it('takes a UNIX socket path or host:port and the roles map', () => {
    const unix = parseGatewayConfig(
      withForward('{ postgres: /run/postgresql/.s.PGSQL.5432, roles: { payments: app } }'),
      SRC,
    );
    assert.deepEqual(unix.listeners[0]?.forward, {
      kind: 'postgres',
      backend: { path: '/run/postgresql/.s.PGSQL.5432' },
      roles: { payments: 'app' },
      startupTimeoutMs: 10_000,
    });
    const tcp = parseGatewayConfig(
      withForward('{ postgres: "127.0.0.1:5432", roles: { payments: app }, startupTimeoutMs: 2000 }'),
      SRC,
    );
    assert.deepEqual(tcp.listeners[0]?.forward, {
      kind: 'postgres',
      backend: { host: '127.0.0.1', port: 5432 },
      roles: { payments: 'app' },
      startupTimeoutMs: 2000,
    });
    const rel = parseGatewayConfig(withForward('{ postgres: ./pg/.s.PGSQL.5432, roles: { a: b } }'), SRC);
    assert.deepEqual(rel.listeners[0]?.forward.kind === 'postgres' && rel.listeners[0].forward.backend, {
      path: '/etc/ratls/pg/.s.PGSQL.5432',
    });
  });

  it('refuses a missing or empty roles map, a bad address, port 0 and over-long role names', () => {
    // The forward union reports its own position (zod names no branch).
    assert.match(refuse(withForward('{ postgres: "127.0.0.1:5432" }')), /listeners\[0\]\.forward/);
    assert.match(refuse(withForward('{ postgres: "127.0.0.1:5432", roles: {} }')), /listeners\[0\]\.forward/);
    assert.match(refuse(withForward('{ postgres: "localhost", roles: { a: b } }')), /host:port or the path/);
    assert.match(refuse(withForward('{ postgres: "127.0.0.1:0", roles: { a: b } }')), /host:port or the path/);
    assert.match(
      refuse(withForward(`{ postgres: "127.0.0.1:5432", roles: { a: ${'r'.repeat(64)} } }`)),
      /listeners\[0\]\.forward/,
    );
    assert.match(
      refuse(withForward('{ postgres: "127.0.0.1:5432", roles: { a: b }, proxyProtocol: true }')),
      /forward/,
    );
  });

  it('refuses alpn on a postgres listener: the forwarder selects postgresql itself', () => {
    const text = withForward('{ postgres: /run/postgresql/.s.PGSQL.5432, roles: { payments: app } }').replace(
      '    forward:',
      '    alpn: [h2]\n    forward:',
    );
    assert.match(refuse(text), /listeners\[0\]\.alpn: a postgres listener selects ALPN itself/);
  });
});
