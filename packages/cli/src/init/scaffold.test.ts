/**
 * `ratls init DIR`: the scaffold passes `--check`, starts, and lets its example client enclave
 * through to a real backend (with the identity header the policy names), while a client without
 * a certificate is refused; it never overwrites an existing configuration.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '@ratls/test-support/gateway-helpers';
import { runCli } from '@ratls/test-support/run-cli';
import { startGateway } from '../gateway/gateway.js';

const dir = tempDir('ratls-init-');
after(() => rmSync(dir, { recursive: true, force: true }));

function get(
  port: number,
  creds?: { cert: string; key: string },
): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    // The test is the client enclave's stand-in: it does not attest the gateway back.
    const req = https.request(
      { host: '127.0.0.1', port, path: '/hello', rejectUnauthorized: false, timeout: 10_000, ...creds },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end();
  });
}

test('ratls init: scaffold passes --check, runs, serves its client enclave and refuses others', async () => {
  const backend = http.createServer((req, res) => res.end(`hello ${req.headers['x-ratls-identity']}`));
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
  const b = backend.address() as AddressInfo;
  const target = join(dir, 'gw');
  const init = await runCli([
    'init',
    target,
    '--listen',
    '127.0.0.1:0',
    '--admin',
    '127.0.0.1:0',
    '--backend',
    `http://127.0.0.1:${b.port}`,
  ]);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stdout, /ratls gateway --check --config .*gateway\.yaml/);
  const gwYaml = readFileSync(join(target, 'gateway.yaml'), 'utf8');
  assert.match(gwYaml, /^# ratls gateway configuration/m, 'commented');
  assert.match(readFileSync(join(target, 'policy.yaml'), 'utf8'), /simulated: true +# \.\/sim is a SIMULATED TEE/);

  const check = await runCli(['gateway', '--check', '--config', join(target, 'gateway.yaml')]);
  assert.equal(check.code, 0, check.stdout + check.stderr);

  const again = await runCli(['init', target]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /already has gateway\.yaml .*--force/);

  const gw = await startGateway(join(target, 'gateway.yaml'), { watch: false, log: () => {} });
  try {
    const port = gw.addresses().app?.port as number;
    const ok = await get(port, {
      cert: readFileSync(join(target, 'client.crt'), 'utf8'),
      key: readFileSync(join(target, 'client.key'), 'utf8'),
    });
    assert.equal(ok.status, 200, JSON.stringify(ok));
    assert.equal(ok.body, 'hello client');
    const anon = await get(port);
    assert.notEqual(anon.status, 200, 'no certificate, no service');
    // The scaffold's admin token opens /healthz; without it the admin port says 401.
    const health = `http://127.0.0.1:${gw.addresses().admin?.port}/healthz`;
    const token = readFileSync(join(target, 'admin.token'), 'utf8').trim();
    assert.equal((await fetch(health, { headers: { authorization: `Bearer ${token}` } })).status, 200);
    assert.equal((await fetch(health)).status, 401);
  } finally {
    await gw.close();
    backend.close();
  }
});
