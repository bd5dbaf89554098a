/**
 * `ratls client --check`: a good file passes without binding its listener (the port is held by the
 * test, so a bind would fail); an unknown key is named with a suggestion; a missing trust file is
 * ERR_GATEWAY_FILE; all exit 2 with one JSON object on stdout under --json.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initSimulation } from '@ratls/sim';
import { tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import { runCli } from '@ratls/test-support/run-cli';
import type { CommandContext } from '../context.js';
import { runClientCheck } from './check.js';

const dir = tempDir('ratls-client-check-');
let held: net.Server;
let port = 0;

function yaml(edit: (t: string) => string = (t) => t): string {
  return edit(`version: 1
simulated: { dir: ./sim }
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
admin: 127.0.0.1:${port}
listeners:
  - name: echo
    listen: 127.0.0.1:${port}
    connect: 127.0.0.1:8443
`);
}

async function check(name: string, text: string): Promise<{ code: number; out: string[]; err: string[] }> {
  const path = writeFile(dir, name, text);
  const out: string[] = [];
  const err: string[] = [];
  const ctx: CommandContext = { out: (l) => out.push(l), err: (l) => err.push(l), exitCode: 0 };
  return { code: await runClientCheck(path, ctx, true), out, err };
}

describe('ratls client --check', () => {
  before(async () => {
    held = net.createServer();
    await new Promise<void>((r) => held.listen(0, '127.0.0.1', r));
    port = (held.address() as net.AddressInfo).port;
    await initSimulation(join(dir, 'sim'));
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: s\n    sgx: { mrEnclave: "${'11'.repeat(32)}" }\n`,
    );
  });
  after(() => {
    held?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a good file: exit 0, listeners listed, the simulator warned about, nothing bound (human and --json)', async () => {
    const path = writeFile(dir, 'client.yaml', yaml());
    const r = await runCli(['client', '--check', '--config', path]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /client configuration OK, 1 listener/);
    assert.match(r.stdout, new RegExp(`echo  127\\.0\\.0\\.1:${port} → 127\\.0\\.0\\.1:8443  policy .*policy\\.yaml`));
    assert.match(r.stderr, /warning: trust anchor .*root\.pem is a SIMULATED root/);
    const j = await check('client-json.yaml', yaml());
    assert.equal(j.code, 0, j.out.join('\n'));
    const o = JSON.parse(j.out.join('')) as { ok: boolean; listeners: Array<{ name: string }>; warnings: string[] };
    assert.equal(o.ok, true);
    assert.deepEqual(
      o.listeners.map((l) => l.name),
      ['echo'],
    );
    assert.ok(o.warnings.some((w) => /SIMULATOR/.test(w)));
  });

  it('an unknown key: ERR_CLIENT_CONFIG naming it with a suggestion, exit 2', async () => {
    const r = await check(
      'typo.yaml',
      yaml((t) => t.replace('admin:', 'admn:')),
    );
    assert.equal(r.code, 2);
    const e = (JSON.parse(r.out.join('')) as { ok: boolean; error: { code: string; message: string } }).error;
    assert.equal(e.code, 'ERR_CLIENT_CONFIG');
    assert.match(e.message, /typo\.yaml:\d+:\d+: unknown key 'admn' \(did you mean 'admin'\?\)/);
  });

  it('a missing trust anchor file: ERR_GATEWAY_FILE naming it, exit 2', async () => {
    const r = await check(
      'absent.yaml',
      yaml((t) => t.replace('./sim/root.pem', './sim/absent.pem')),
    );
    assert.equal(r.code, 2);
    const e = (JSON.parse(r.out.join('')) as { ok: boolean; error: { code: string; message: string } }).error;
    assert.equal(e.code, 'ERR_GATEWAY_FILE');
    assert.match(e.message, /absent\.pem/);
  });

  it('a missing server policy: refused with the policy named, exit 2', async () => {
    const r = await check(
      'nopolicy.yaml',
      yaml((t) => t.replace('./policy.yaml', './nowhere.yaml')),
    );
    assert.equal(r.code, 2);
    assert.match(r.out.join(''), /nowhere\.yaml/);
  });
});
