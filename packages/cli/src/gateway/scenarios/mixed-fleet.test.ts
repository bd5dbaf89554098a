/**
 * A mixed fleet behind one gateway: SGX, SEV-SNP and Nitro enclaves (simulated), each admitted under
 * its own identity by one policy; a wrong-measurement SNP enclave refused. Real curl as the client.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type EchoBackend,
  echoBackend,
  haveBinary,
  run,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { runCli } from '@ratls/test-support/run-cli';
import { type Gateway, startGateway } from '../index.js';

const SGX_MR = 'a1'.repeat(32);
const SNP_MEASUREMENT = 'b2'.repeat(48);
const NITRO_PCR0 = 'c3'.repeat(48);

describe('gateway: mixed SGX / SEV-SNP / Nitro fleet', {
  skip: haveBinary('curl') ? false : 'curl not installed',
}, () => {
  const dir = tempDir('ratls-mixed-');
  let backend: EchoBackend;
  let gw: Gateway;
  let port = 0;
  const audit: Array<Record<string, unknown>> = [];

  async function sim(args: string[]): Promise<void> {
    const r = await runCli(['sim', ...args]);
    assert.equal(r.code, 0, r.stderr);
  }

  before(async () => {
    await sim(['init', join(dir, 'sim')]);
    await sim(['cert', join(dir, 'sim'), '--out', join(dir, 'sgx'), '--mrenclave', SGX_MR]);
    await sim([
      'cert',
      join(dir, 'sim'),
      '--out',
      join(dir, 'snp'),
      '--tee',
      'sev-snp',
      '--measurement',
      SNP_MEASUREMENT,
    ]);
    await sim([
      'cert',
      join(dir, 'sim'),
      '--out',
      join(dir, 'snp-other'),
      '--tee',
      'sev-snp',
      '--measurement',
      'dd'.repeat(48),
    ]);
    await sim(['cert', join(dir, 'sim'), '--out', join(dir, 'nitro'), '--tee', 'nitro', '--pcr', `0=${NITRO_PCR0}`]);
    await sim(['cert', join(dir, 'sim'), '--out', join(dir, 'gw'), '--mrenclave', 'ee'.repeat(32)]);
    backend = await echoBackend();
    writeFile(
      dir,
      'policy.yaml',
      [
        'version: 1',
        'defaults: { simulated: true }',
        'identities:',
        '  - name: sgx-app',
        `    sgx: { mrEnclave: ["${SGX_MR}"] }`,
        '  - name: snp-vm',
        `    snp: { measurement: ["${SNP_MEASUREMENT}"] }`,
        '  - name: nitro-enclave',
        `    nitro: { pcr0: ["${NITRO_PCR0}"] }`,
        '',
      ].join('\n'),
    );
    const config = writeFile(
      dir,
      'gateway.yaml',
      [
        'version: 1',
        'trust:',
        '  anchors: [./sim/root.pem]',
        '  collateral: [./sim/collateral.json]',
        '  snp: { anchors: [./sim/snp/ark.pem] }',
        '  nitro: { anchors: [./sim/nitro/root.pem] }',
        'policy: ./policy.yaml',
        'listeners:',
        '  - name: api',
        '    listen: 127.0.0.1:0',
        '    tls: { cert: ./gw.crt, key: ./gw.key }',
        `    forward: { http: http://127.0.0.1:${backend.port} }`,
        '',
      ].join('\n'),
    );
    gw = await startGateway(config, {
      watch: false,
      log: () => {},
      auditSink: { callback: (e) => audit.push(e as unknown as Record<string, unknown>) },
    });
    port = gw.addresses().api?.port as number;
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
  });

  async function curl(who: string) {
    return run('curl', [
      '-sk',
      '--max-time',
      '10',
      '--cert',
      join(dir, `${who}.crt`),
      '--key',
      join(dir, `${who}.key`),
      `https://127.0.0.1:${port}/x`,
    ]);
  }

  for (const [who, identity, tee] of [
    ['sgx', 'sgx-app', 'sgx'],
    ['snp', 'snp-vm', 'sev-snp'],
    ['nitro', 'nitro-enclave', 'nitro'],
  ] as const) {
    test(`${tee} enclave is admitted as ${identity}`, async () => {
      const r = await curl(who);
      assert.equal(r.code, 0, r.stderr);
      const seen = JSON.parse(r.stdout) as { headers: Record<string, string> };
      assert.equal(seen.headers['x-ratls-identity'], identity);
      assert.equal(seen.headers['x-ratls-tee'], tee);
    });
  }

  test('an SNP guest with an unexpected measurement is refused, with one audit event saying why', async () => {
    const before = audit.length;
    const r = await curl('snp-other');
    assert.notEqual(r.code, 0);
    assert.equal(audit.length, before + 1);
    const ev = audit.at(-1) as { event: { reason: string }; attestation: { tee: string } };
    assert.equal(ev.event.reason, 'measurement_mismatch');
    assert.equal(ev.attestation.tee, 'sev-snp');
  });

  test('a gateway that does not name the simulated AMD root refuses the same SNP guest', async () => {
    const cfg = readFileSync(join(dir, 'gateway.yaml'), 'utf8').replace(
      '  snp: { anchors: [./sim/snp/ark.pem] }\n',
      '',
    );
    const path = writeFile(dir, 'gateway-no-snp.yaml', cfg);
    const events: Array<Record<string, unknown>> = [];
    const g2 = await startGateway(path, {
      watch: false,
      log: () => {},
      auditSink: { callback: (e) => events.push(e as unknown as Record<string, unknown>) },
    });
    try {
      const p2 = g2.addresses().api?.port as number;
      const r = await run('curl', [
        '-sk',
        '--max-time',
        '10',
        '--cert',
        join(dir, 'snp.crt'),
        '--key',
        join(dir, 'snp.key'),
        `https://127.0.0.1:${p2}/x`,
      ]);
      assert.notEqual(r.code, 0);
      assert.equal(events.length, 1);
      const ev = events[0] as { event: { reason: string }; error: { code: string } };
      assert.equal(ev.event.reason, 'verification_failed');
      assert.match(ev.error.code, /^ERR_SNP_/);
    } finally {
      await g2.close();
    }
  });
});
