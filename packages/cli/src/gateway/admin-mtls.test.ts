/**
 * Issue 16, admin mTLS: with `adminAuth.mtls` the admin server speaks HTTPS; /healthz needs a
 * client certificate chaining to clientCa (real curl with --cert/--key/--cacert); without one only
 * /livez, /readyz and /metrics answer; a certificate from another CA is refused at the handshake.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { haveBinary, run, tempDir } from '@ratls/test-support/gateway-helpers';
import { type AdminServer, startAdmin } from './admin.js';
import { createGatewayMetrics } from './metrics.js';

function openssl(args: string[]): void {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
}

/** A CA (`<name>-ca.crt/.key`) and a certificate it signs (`<name>-<leaf>.crt/.key`). */
function caWithLeaf(dir: string, name: string, leaf: string, san?: string): { ca: string; cert: string; key: string } {
  const ca = join(dir, `${name}-ca`);
  openssl(
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${ca}.key`]
      .concat(['-out', `${ca}.crt`, '-days', '2', '-subj', `/CN=${name} CA`])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']),
  );
  const l = join(dir, `${name}-${leaf}`);
  openssl(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${l}.key`].concat([
      '-out',
      `${l}.csr`,
      '-subj',
      `/CN=${leaf}`,
    ]),
  );
  const ext = join(dir, `${name}-${leaf}.ext`);
  writeFileSync(ext, `${san ? `subjectAltName=${san}` : 'extendedKeyUsage=clientAuth'}\n`);
  openssl(
    ['x509', '-req', '-in', `${l}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial'].concat([
      '-out',
      `${l}.crt`,
      '-days',
      '2',
      '-extfile',
      ext,
    ]),
  );
  return { ca: `${ca}.crt`, cert: `${l}.crt`, key: `${l}.key` };
}

const skip = !haveBinary('curl') || !haveBinary('openssl') ? 'curl and openssl needed' : false;

describe('admin mTLS (adminAuth clientCa/cert/key)', { skip }, () => {
  let dir: string;
  let admin: AdminServer;
  let server: { ca: string; cert: string; key: string };
  let operator: { ca: string; cert: string; key: string };
  let stranger: { ca: string; cert: string; key: string };
  let base = '';

  before(async () => {
    dir = tempDir('ratls-admin-mtls-');
    server = caWithLeaf(dir, 'server', 'admin', 'IP:127.0.0.1');
    operator = caWithLeaf(dir, 'ops', 'operator');
    stranger = caWithLeaf(dir, 'other', 'stranger');
    admin = await startAdmin(
      { host: '127.0.0.1', port: 0 },
      {
        health: () => ({ ok: true, body: { status: 'ok', policies: ['detail'] } }),
        metrics: createGatewayMetrics('1.2.3'),
        auth: { allowedHosts: [], mtls: { clientCa: operator.ca, cert: server.cert, key: server.key } },
      },
    );
    base = `https://127.0.0.1:${admin.address()?.port}`;
  });
  after(async () => {
    await admin?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const curl = (path: string, extra: string[]) =>
    run('curl', ['-sS', '--max-time', '10', '--cacert', server.ca, '-w', '\n%{http_code}', ...extra, `${base}${path}`]);

  it('a client certificate chaining to clientCa reads /healthz', async () => {
    const r = await curl('/healthz', ['--cert', operator.cert, '--key', operator.key]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"policies":\["detail"\][\s\S]*\n200$/);
  });

  it('without a certificate /healthz is 401 ERR_ADMIN_UNAUTHORIZED; /livez, /readyz and /metrics answer', async () => {
    const r = await curl('/healthz', []);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ERR_ADMIN_UNAUTHORIZED[\s\S]*\n401$/);
    assert.doesNotMatch(r.stdout, /detail/);
    for (const p of ['/livez', '/readyz', '/metrics']) assert.match((await curl(p, [])).stdout, /\n200$/, p);
  });

  it('a certificate from another CA is refused at the handshake', async () => {
    const r = await curl('/healthz', ['--cert', stranger.cert, '--key', stranger.key]);
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /detail/);
  });

  it('plain HTTP is not served', async () => {
    const r = await run('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${admin.address()?.port}/livez`]);
    assert.notEqual(r.code, 0);
  });
});
