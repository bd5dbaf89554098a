/** The issue-14 configuration blocks: backend TLS, PROXY v2 input, ALPN, connection limits. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGatewayConfig } from './config.js';
import { refuse, SRC } from './refuse.test-helper.js';

const HEAD = `version: 1
trust:
  collateral: ./sim/collateral.json
policy: ./policy.yaml
limits: { handshakeTimeoutMs: 5000 }
listeners:
`;
const listener = (name: string, forward: string, extra = '') =>
  `  - name: ${name}\n    listen: 127.0.0.1:0\n    tls: { cert: ./s.crt, key: ./s.key }\n    forward: ${forward}\n${extra}`;

describe('gateway config: issue 14 blocks', () => {
  it('https backends with tls { ca, servername, cert, key } and tcp backends over TLS', () => {
    const c = parseGatewayConfig(
      HEAD +
        listener('api', '{ http: "https://127.0.0.1:8443", tls: { ca: ./ca.pem, servername: api.internal } }') +
        listener('kms', '{ tcp: 127.0.0.1:5696, tls: { ca: /abs/ca.pem, servername: kms, cert: c.pem, key: k.pem } }'),
      SRC,
    );
    const [api, kms] = c.listeners;
    assert.equal(api?.forward.kind === 'http' && api.forward.url.protocol, 'https:');
    assert.deepEqual(api?.forward.kind === 'http' && api.forward.tls, {
      ca: '/etc/ratls/ca.pem',
      servername: 'api.internal',
    });
    assert.deepEqual(kms?.forward.kind === 'tcp' && kms.forward.tls, {
      ca: '/abs/ca.pem',
      servername: 'kms',
      cert: '/etc/ratls/c.pem',
      key: '/etc/ratls/k.pem',
    });
  });

  it('refuses an https backend without tls, tls on http://, half a client pair, and unknown tls keys', () => {
    assert.match(refuse(HEAD + listener('a', '{ http: "https://127.0.0.1:8443" }')), /needs tls: \{ ca, servername \}/);
    assert.match(
      refuse(HEAD + listener('a', '{ http: "http://127.0.0.1:8080", tls: { ca: ca.pem, servername: x } }')),
      /tls applies to https:\/\/ backends only/,
    );
    assert.match(
      refuse(HEAD + listener('a', '{ tcp: 127.0.0.1:1, tls: { ca: ca.pem, servername: x, cert: c.pem } }')),
      /both cert and key/,
    );
    assert.match(
      refuse(HEAD + listener('a', '{ tcp: 127.0.0.1:1, tls: { ca: ca.pem, servername: x, insecure: true } }')),
      /listeners\[0\]\.forward/,
    );
  });

  it('proxyProtocol.from takes addresses and CIDRs; anything else is refused at its line', () => {
    const c = parseGatewayConfig(
      HEAD + listener('a', '{ tcp: 127.0.0.1:1 }', '    proxyProtocol: { from: [10.0.0.0/8, "::1", 192.0.2.7] }\n'),
      SRC,
    );
    assert.deepEqual(c.listeners[0]?.proxyProtocol, { from: ['10.0.0.0/8', '::1', '192.0.2.7'] });
    assert.match(
      refuse(HEAD + listener('a', '{ tcp: 127.0.0.1:1 }', '    proxyProtocol: { from: [10.0.0.0/33] }\n')),
      /gateway\.yaml:\d+:\d+: listeners\[0\]\.proxyProtocol\.from\[0\]: expected an address or CIDR/,
    );
    assert.match(refuse(HEAD + listener('a', '{ tcp: 127.0.0.1:1 }', '    proxyProtocol: { from: [] }\n')), /from/);
  });

  it('alpn: a list of protocol ids', () => {
    const c = parseGatewayConfig(HEAD + listener('a', '{ tcp: 127.0.0.1:1 }', '    alpn: [postgresql]\n'), SRC);
    assert.deepEqual(c.listeners[0]?.alpn, ['postgresql']);
    assert.match(refuse(HEAD + listener('a', '{ tcp: 127.0.0.1:1 }', '    alpn: ["has space"]\n')), /ALPN/);
  });

  it('connection limits: idle off for tcp by default, the gateway idle for http; age and policy change', () => {
    const c = parseGatewayConfig(
      HEAD +
        listener('h', '{ http: "http://127.0.0.1:8080" }') +
        listener('t', '{ tcp: 127.0.0.1:1 }') +
        listener(
          'u',
          '{ tcp: 127.0.0.1:1 }',
          '    limits: { idleTimeoutMs: 60000, maxConnectionAgeMs: 3600000, onPolicyChange: keep }\n',
        ),
      SRC,
    );
    assert.deepEqual(c.listeners[0]?.connection, {
      idleTimeoutMs: 300_000,
      maxConnectionAgeMs: 0,
      onPolicyChange: 'close',
    });
    assert.deepEqual(c.listeners[1]?.connection, { idleTimeoutMs: 0, maxConnectionAgeMs: 0, onPolicyChange: 'close' });
    assert.deepEqual(c.listeners[2]?.connection, {
      idleTimeoutMs: 60_000,
      maxConnectionAgeMs: 3_600_000,
      onPolicyChange: 'keep',
    });
    // An explicit gateway-wide idle timeout still applies to tcp listeners (as before issue 14).
    const g = parseGatewayConfig(
      HEAD.replace('{ handshakeTimeoutMs: 5000 }', '{ idleTimeoutMs: 400 }') + listener('t', '{ tcp: 127.0.0.1:1 }'),
      SRC,
    );
    assert.equal(g.listeners[0]?.connection.idleTimeoutMs, 400);
    assert.match(
      refuse(HEAD + listener('t', '{ tcp: 127.0.0.1:1 }', '    limits: { onPolicyChange: ignore }\n')),
      /listeners\[0\]\.limits\.onPolicyChange/,
    );
  });
});
