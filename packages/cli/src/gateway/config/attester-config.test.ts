/**
 * The gateway's `attester:` block and `tls: attested` listeners (issue 13): the same attester
 * keys and reader as `ratls client`, refused when half-configured, restart-only on reload.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientConfig } from '../../client/config.js';
import { restartOnlyChanges } from '../state.js';
import { parseGatewayConfig } from './config.js';
import { refuse, SRC } from './refuse.test-helper.js';

const M = 'ab'.repeat(32);
const head = `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: ./sim/collateral.json
policy: ./policy.yaml
`;
const listener = (name: string, tls: string) => `  - name: ${name}
    listen: 127.0.0.1:0
    tls: ${tls}
    forward: { tcp: 127.0.0.1:6379 }
`;
const config = (attester: string, ...listeners: string[]) => `${head}${attester}listeners:\n${listeners.join('')}`;
const SIMULATED = `attester:\n  simulated: { dir: ./sim, mrEnclave: "${M}" }\n  credentials: { validitySeconds: 600, renewBeforeSeconds: 120 }\n`;

describe('gateway attester: block', () => {
  it('reads the client’s attester keys: a simulated provider and its credentials; tls: attested leaves no files', () => {
    const c = parseGatewayConfig(
      config(SIMULATED, listener('cache', 'attested'), listener('api', '{ cert: ./s.crt, key: ./s.key }')),
      SRC,
    );
    assert.deepEqual(c.attester, {
      provider: { kind: 'simulated', dir: '/etc/ratls/sim', tee: 'sgx', mrEnclave: M, debug: false },
      credentials: { validitySeconds: 600, renewBeforeSeconds: 120, keyType: 'P-256' },
    });
    assert.equal(c.listeners[0]?.tls, undefined);
    assert.deepEqual(c.listeners[1]?.tls, { cert: '/etc/ratls/s.crt', key: '/etc/ratls/s.key' });
    // The client's parser reads the very same keys into the very same shape.
    const client = parseClientConfig(
      `version: 1\nsimulated: { dir: ./sim, mrEnclave: "${M}" }\ncredentials: { validitySeconds: 600, renewBeforeSeconds: 120 }\nlisteners:\n  - name: r\n    connect: 127.0.0.1:1\n    ca: ./ca.pem\n`,
      '/etc/ratls/client.yaml',
    );
    assert.deepEqual(
      { provider: client.attester, credentials: client.credentials },
      c.attester as NonNullable<typeof c.attester>,
    );
  });

  it('provider: nitro and the detected provider', () => {
    const nitro = parseGatewayConfig(config('attester: { provider: nitro }\n', listener('c', 'attested')), SRC);
    assert.deepEqual(nitro.attester?.provider, { kind: 'nitro' });
    const detect = parseGatewayConfig(config('attester: {}\n', listener('c', 'attested')), SRC);
    assert.deepEqual(detect.attester?.provider, { kind: 'detect' });
    assert.equal(detect.attester?.credentials.validitySeconds, 3600);
  });

  it('refuses tls: attested without an attester: block', () => {
    assert.match(
      refuse(config('', listener('cache', 'attested'))),
      /listeners\[0\]\.tls: tls: attested needs an attester/,
    );
  });

  it('refuses an attester: block no listener uses', () => {
    assert.match(
      refuse(config(SIMULATED, listener('cache', '{ cert: ./s.crt, key: ./s.key }'))),
      /attester: no listener uses it/,
    );
  });

  it('refuses provider and simulated together, and errors name the attester path', () => {
    assert.match(
      refuse(config('attester: { provider: nitro, simulated: ./sim }\n', listener('c', 'attested'))),
      /attester\.provider: give either provider or simulated/,
    );
    assert.match(
      refuse(
        config(
          'attester:\n  simulated: ./sim\n  credentials: { validitySeconds: 60, renewBeforeSeconds: 60 }\n',
          listener('c', 'attested'),
        ),
      ),
      /attester\.credentials\.renewBeforeSeconds: must be below validitySeconds/,
    );
    assert.match(refuse(config('attester: { simulated: ./sim, bogus: 1 }\n', listener('c', 'attested'))), /bogus/);
  });

  it('changing the attester or which listeners are attested needs a restart', () => {
    const a = parseGatewayConfig(config(SIMULATED, listener('c', 'attested')), SRC);
    const b = parseGatewayConfig(config(SIMULATED.replace('600', '900'), listener('c', 'attested')), SRC);
    assert.equal(restartOnlyChanges(a, a), undefined);
    assert.equal(restartOnlyChanges(a, b), 'attester changed');
    const both = (tls: string) =>
      parseGatewayConfig(config(SIMULATED, listener('c', 'attested'), listener('d', tls)), SRC);
    assert.equal(
      restartOnlyChanges(both('{ cert: ./s.crt, key: ./s.key }'), both('attested')),
      'listeners with tls: attested changed',
    );
  });
});
