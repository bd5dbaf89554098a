/**
 * Issue 15 with `workers: 2`: the primary makes the CA and the EAR key once before it forks; each
 * worker reads them. `ratls identity` (real processes) gets certificates under the one CA and an
 * EAR token that verifies against the keys in the shared folder, from whichever worker took the
 * connection; the issuance events reach the primary's one audit writer.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { x509 } from '@ratls/attester/x509';
import { initSimulation } from '@ratls/sim';
import {
  type GatewayProcess,
  simCert,
  simulatorPolicy,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { spawnCli } from '@ratls/test-support/run-cli';
import type { AuditEvent } from '@ratls/verifier';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { earKeyRingFromDir } from '../../identity/ear-keys-dir.js';

const PAYMENTS_M = '11'.repeat(32);
const GATEWAY_M = '33'.repeat(32);

describe('identity endpoint with workers: 2 (real processes)', () => {
  let dir: string;
  let gw: GatewayProcess;
  const args = (prefix: string, extra: string[] = []) => [
    'identity',
    '--gateway',
    `127.0.0.1:${gw.addresses.identity ?? 0}`,
    '--out',
    join(dir, prefix),
    '--policy',
    join(dir, 'server-policy.yaml'),
    '--simulated',
    join(dir, 'sim'),
    '--mrenclave',
    PAYMENTS_M,
    ...extra,
  ];

  before(async () => {
    dir = tempDir('ratls-identity-workers-');
    await initSimulation(join(dir, 'sim'));
    await simCert(join(dir, 'sim'), join(dir, 'gateway'), { mrEnclave: GATEWAY_M, subject: 'gateway' });
    writeFile(dir, 'gateway-policy.yaml', simulatorPolicy('payments', [PAYMENTS_M]));
    writeFile(dir, 'server-policy.yaml', simulatorPolicy('kms-gateway', [GATEWAY_M]));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
workers: 2
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./gateway-policy.yaml
audit: { file: ./audit.jsonl }
limits: { handshakeTimeoutMs: 15000, drainTimeoutMs: 1000 }
identity:
  trustDomain: prod.example.org
  ca: { dir: ./identity-ca }
  ear: { issuer: "https://gateway.test", keysDir: ./ear-keys, audiences: [vault] }
  listeners: [identity]
listeners:
  - name: identity
    listen: 127.0.0.1:0
    tls: { cert: ./gateway.crt, key: ./gateway.key }
    freshness: channel
    channelTimeoutMs: 5000
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'), 60_000);
  });
  after(async () => {
    await gw?.stop('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('certificates chain to the one CA and the EAR token verifies against the shared keys folder', async () => {
    const ca = new x509.X509Certificate(readFileSync(join(dir, 'identity-ca', 'ca.pem'), 'utf8'));
    for (const prefix of ['a', 'b']) {
      const r = await spawnCli(args(prefix), { timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stderr);
      const leaf = new x509.X509Certificate(readFileSync(join(dir, `${prefix}.crt`), 'utf8'));
      assert.equal(leaf.subject, 'CN=payments');
      assert.ok(await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true }));
    }
    const r = await spawnCli(args('t', ['--kind', 'ear', '--aud', 'vault']), { timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.stderr);
    const token = readFileSync(join(dir, 't.jwt'), 'utf8').trim();
    const jwks = (await earKeyRingFromDir(join(dir, 'ear-keys'), 3600)).jwks(Date.now() / 1000);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: 'https://gateway.test',
      audience: 'vault',
    });
    assert.equal(payload.sub, 'payments');

    // Three issuances, three events in the primary's one audit file.
    let issued: AuditEvent[] = [];
    for (let i = 0; i < 100 && issued.length < 3; i++) {
      await new Promise((res) => setTimeout(res, 100));
      issued = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as AuditEvent)
        .filter((e) => e.event.action === 'identity.issued');
    }
    assert.deepEqual(issued.map((e) => e.issued?.kind).sort(), ['ear', 'x509', 'x509']);
  });
});
