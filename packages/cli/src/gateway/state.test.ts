import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import {
  GOOD,
  opensslCert,
  STATE_API_LISTENER,
  scenarioPolicy,
  standInVerify,
  tempDir,
  writeFile,
  writeStateConfig,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import { loadGatewayConfig, parseGatewayConfig } from './config/config.js';
import { buildState, listenerView, policyHashes, restartOnlyChanges } from './state.js';

const SRC = '/etc/ratls/gateway.yaml';
const config = (over: { listen?: string; admin?: string; limits?: string; forward?: string; own?: string } = {}) =>
  parseGatewayConfig(
    `version: 1
trust: { collateral: ./collateral.json }
policy: ./policy.yaml
admin: ${over.admin ?? '127.0.0.1:9090'}
${over.limits ? `limits: ${over.limits}\n` : ''}listeners:
  - name: api
    listen: ${over.listen ?? '127.0.0.1:8443'}
    tls: { cert: ./server.crt, key: ./server.key }
    forward: ${over.forward ?? '{ http: http://127.0.0.1:8080 }'}
${over.own ? `    limits: ${over.own}\n` : ''}`,
    SRC,
  );

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RatlsError, String(e));
    return e.code;
  }
  assert.fail('accepted');
}

describe('restartOnlyChanges', () => {
  it('lets policies, backends and credentials change on reload', () => {
    assert.equal(restartOnlyChanges(config(), config({ forward: '{ http: http://127.0.0.1:9999 }' })), undefined);
  });

  it('names each change that needs a restart', () => {
    const base = config();
    assert.match(restartOnlyChanges(base, config({ listen: '127.0.0.1:8444' })) ?? '', /^listeners changed/);
    assert.match(restartOnlyChanges(base, config({ forward: '{ tcp: 127.0.0.1:6379 }' })) ?? '', /^listeners changed/);
    assert.equal(restartOnlyChanges(base, config({ admin: '127.0.0.1:9091' })), 'admin address changed');
    assert.equal(restartOnlyChanges(base, config({ limits: '{ idleTimeoutMs: 1000 }' })), 'limits changed');
    assert.equal(restartOnlyChanges(base, config({ own: '{ maxConnections: 5 }' })), 'listener limits changed');
  });
});

describe('buildState', { skip: HAVE_VECTORS ? false : 'needs a collateral vector' }, () => {
  const setup = () => {
    const dir = tempDir();
    const path = writeStateConfig(dir, STATE_API_LISTENER);
    return { dir, path };
  };

  it('reads every file, and keeps the verification path when trust and collateral are unchanged', async () => {
    const { path } = setup();
    const first = await buildState(loadGatewayConfig(path), undefined, {});
    const view = listenerView(first, 'api');
    assert.equal(view.policy.hash, policyHashes(first)[0]);
    assert.match(view.credentials.cert, /BEGIN CERTIFICATE/);
    assert.equal(first.fileCollateral.length, 1);
    const second = await buildState(loadGatewayConfig(path), first, {});
    assert.equal(second.verification, first.verification);
    assert.equal(second.collateral, first.collateral);
  });

  it('refuses a missing file, an unusable key and a broken policy with their codes', async () => {
    const { dir, path } = setup();
    writeFile(dir, 'server.key', 'not a key');
    assert.equal(await code(buildState(loadGatewayConfig(path), undefined, {})), 'ERR_GATEWAY_TLS');
    opensslCert(dir, 'server', '127.0.0.1');
    writeFile(dir, 'policy.yaml', 'version: 1\nidentities:\n  - name: broken\n    sgx: { mrEnclave: "zz" }\n');
    assert.equal(await code(buildState(loadGatewayConfig(path), undefined, {})), 'ERR_POLICY_INVALID');
    const missing = parseGatewayConfig(
      `version: 1\ntrust: { collateral: ./nope.json }\npolicy: ./policy.yaml\nlisteners:\n  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:1" } }\n`,
      join(dir, 'gateway.yaml'),
    );
    writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
    assert.equal(await code(buildState(missing, undefined, {})), 'ERR_GATEWAY_FILE');
  });

  it('listenerView refuses a listener the state does not hold', async () => {
    const { path } = setup();
    const s = await buildState(loadGatewayConfig(path), undefined, { dangerousVerify: standInVerify });
    assert.equal(s.verification.kind, 'dangerous');
    assert.throws(
      () => listenerView(s, 'other'),
      (e: unknown) => e instanceof RatlsError && e.code === 'ERR_GATEWAY_POLICY',
    );
  });
});
