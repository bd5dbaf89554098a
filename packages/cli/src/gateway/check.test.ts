/**
 * `ratls gateway --check`: a scaffold passes without binding its port (the port is held by the
 * test, so a bind would fail), and each kind of broken file fails with its own code and exit 2.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initSimulation } from '@ratls/sim';
import { tempDir } from '@ratls/test-support/gateway-helpers';
import { runCli } from '@ratls/test-support/run-cli';
import { collateralFacts, collateralFromJson } from '@ratls/verifier';
import { scaffold } from '../init/scaffold.js';
import { checkGateway } from './check.js';

const dir = tempDir('ratls-check-');
let held: net.Server;
let port = 0;
let config = '';
after(() => {
  held?.close();
  rmSync(dir, { recursive: true, force: true });
});

function variant(name: string, edit: (text: string) => string): string {
  const p = join(dir, `${name}.yaml`);
  writeFileSync(p, edit(readFileSync(config, 'utf8')));
  return p;
}

describe('ratls gateway --check', () => {
  before(async () => {
    held = net.createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    port = (held.address() as net.AddressInfo).port;
    await scaffold(dir, { listen: `127.0.0.1:${port}`, admin: `127.0.0.1:${port}` });
    config = join(dir, 'gateway.yaml');
  });

  test('a scaffold is valid: exit 0, listeners listed, simulated root warned about, no port bound', async () => {
    const r = await runCli(['gateway', '--check', '--config', config]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /configuration OK, 1 listener/);
    assert.match(r.stdout, new RegExp(`app  127\\.0\\.0\\.1:${port} → http://127\\.0\\.0\\.1:8080/`));
    assert.match(r.stderr, /warning: trust anchor .*root\.pem is a SIMULATED root/);
    const j = await runCli(['gateway', '--check', '--json', '--config', config]);
    assert.equal(j.code, 0);
    const out = JSON.parse(j.stdout) as { ok: boolean; listeners: Array<{ policyHash: string }> };
    assert.equal(out.ok, true);
    assert.match(out.listeners[0]?.policyHash ?? '', /^[0-9a-f]{64}$/);
  });

  test('a key that does not match its certificate: ERR_GATEWAY_TLS, exit 2', async () => {
    const p = variant('mismatch', (t) => t.replace('key: ./gateway.key', 'key: ./client.key'));
    const r = await runCli(['gateway', '--check', '--json', '--config', p]);
    assert.equal(r.code, 2);
    const e = (JSON.parse(r.stdout) as { ok: boolean; error: { code: string; message: string } }).error;
    assert.equal(e.code, 'ERR_GATEWAY_TLS');
    assert.match(e.message, /key values mismatch/);
  });

  test('a missing trust anchor file: ERR_GATEWAY_FILE; a file that is no certificate: refused', async () => {
    const p = variant('no-anchor', (t) => t.replace('./sim/root.pem', './sim/absent.pem'));
    const r = await runCli(['gateway', '--check', '--config', p]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_GATEWAY_FILE: trust anchor .*absent\.pem/);
    const q = variant('bad-anchor', (t) => t.replace('./sim/root.pem', './policy.yaml'));
    const s = await runCli(['gateway', '--check', '--config', q]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /ratls gateway --check: ERR_/);
  });

  test('an invalid policy: ERR_POLICY_INVALID with its line; an unknown config key: suggestion', async () => {
    writeFileSync(join(dir, 'bad-policy.yaml'), 'version: 1\nidentities: []\n');
    const p = variant('uses-bad-policy', (t) => t.replace('policy: ./policy.yaml', 'policy: ./bad-policy.yaml'));
    const r = await runCli(['gateway', '--check', '--config', p]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_POLICY_INVALID: .*bad-policy\.yaml:2:\d+: identities/);
    const k = variant('typo', (t) => t.replace('admin:', 'admn:'));
    const s = await runCli(['gateway', '--check', '--config', k]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /unknown key 'admn' \(did you mean 'admin'\?\)/);
  });

  test('expired collateral and an expired certificate fail at the time checked', async () => {
    // A one-day collateral window, so the collateral expires long before the 30-day certificate.
    await initSimulation(join(dir, 'sim1d'), { collateralDays: 1 });
    const facts = collateralFacts(collateralFromJson(readFileSync(join(dir, 'sim1d', 'collateral.json'), 'utf8')));
    const p = variant('short-collateral', (t) => t.replaceAll('./sim/', './sim1d/'));
    await assert.rejects(checkGateway(p, facts.nextUpdate + 1000), { code: 'ERR_GATEWAY_COLLATERAL' });
    const near = await checkGateway(p, facts.nextUpdate - 3600_000);
    assert.ok(near.warnings.some((w) => /needs refreshing before/.test(w)));
    await assert.rejects(
      checkGateway(config, Date.now() + 60 * 86400_000),
      (e: { code?: string; message?: string }) => {
        // Both expire within 30 days; the listener certificate is checked first.
        return e.code === 'ERR_GATEWAY_TLS' && /expired/.test(e.message ?? '');
      },
    );
  });

  test('an attester: block: tls: attested needs no files; a simulated attester is read and warned about', async () => {
    const attested = (simDir: string) =>
      variant(`attested-${simDir}`, (t) =>
        t
          .replace('tls: { cert: ./gateway.crt, key: ./gateway.key }', 'tls: attested')
          .replace('listeners:', `attester: { simulated: ./${simDir} }\nlisteners:`),
      );
    const ok = await checkGateway(attested('sim'), Date.now());
    assert.ok(
      ok.warnings.some((w) => /^attester: SIMULATED TEE/.test(w)),
      ok.warnings.join('\n'),
    );
    // A simulation folder that is not there fails the check as it would fail the start.
    await assert.rejects(checkGateway(attested('no-such-sim'), Date.now()), { code: 'ERR_SIM_STATE' });
  });
});
