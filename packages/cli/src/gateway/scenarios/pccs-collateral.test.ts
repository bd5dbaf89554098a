/**
 * The gateway with real verification in-process, collateral from a PCCS look-alike (the
 * verifier's test PCS serving the simulator's collateral): accepted clients make it fetch and
 * cache collateral, /metrics shows its nextUpdate, /healthz stays 200 through a PCCS outage while
 * the cache is valid and turns 503 once the cached collateral is past its nextUpdate.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  adminToken,
  type EchoBackend,
  echoBackend,
  haveBinary,
  run,
  simulatedPccs,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
// Test-only fixture of the verifier package (not exported from it).
import type { PcsServer } from '@ratls/test-support/pcs-server';
import type { AuditEvent } from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

const GOOD = '33'.repeat(32);

describe('gateway with PCCS collateral', { skip: haveBinary('curl') ? false : 'curl not installed' }, () => {
  let dir: string;
  let pcs: PcsServer;
  let backend: EchoBackend;
  let gw: Gateway;
  let now = Date.now();
  const events: AuditEvent[] = [];
  let client: { cert: string; key: string };

  before(async () => {
    dir = tempDir('ratls-gw-pccs-');
    ({ client, pcs } = await simulatedPccs(dir, GOOD));
    backend = await echoBackend();
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: svc\n    sgx: { mrEnclave: "${GOOD}" }\n`,
    );
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust: { anchors: [./sim/root.pem], pccs: "${pcs.url}", cacheDir: ./pccs-cache }
policy: ./policy.yaml
admin: 127.0.0.1:0
adminAuth: { tokenFile: ${adminToken(dir).tokenFile} }
listeners:
  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${backend.port}" } }
`,
    );
    gw = await startGateway(join(dir, 'gateway.yaml'), {
      clock: () => now,
      auditSink: { callback: (e) => events.push(e) },
      watch: false,
      log: () => undefined,
    });
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
    await pcs?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const admin = async (path: string) => {
    const r = await fetch(`http://127.0.0.1:${gw.addresses().admin?.port}${path}`, {
      headers: adminToken(dir).headers,
    });
    return { status: r.status, text: await r.text() };
  };

  it('verifies a simulated client with PCCS collateral and reports the cached entry', async () => {
    const r = await run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      '--cert',
      client.cert,
      '--key',
      client.key,
      `https://127.0.0.1:${gw.addresses().api?.port}/p`,
    ]);
    assert.equal(r.code, 0, `${r.stderr} ${JSON.stringify(events.at(-1))}`);
    assert.equal((JSON.parse(r.stdout) as { headers: Record<string, string> }).headers['x-ratls-identity'], 'svc');
    assert.ok(pcs.hits.some((h) => h.includes('/sgx/certification/v4/tcb')));
    const m = await admin('/metrics');
    assert.match(m.text, /ratls_collateral_next_update_timestamp_seconds\{fmspc="[0-9a-f]{12}"\} \d+/);
    const h = await admin('/healthz');
    assert.equal(h.status, 200, h.text);
    assert.equal(
      (JSON.parse(h.text) as { collateral: { source: string; entries: unknown[] } }).collateral.entries.length,
      1,
    );
  });

  it('stays healthy through a PCCS outage while the cache is valid; 503 once past nextUpdate', async () => {
    await pcs.close();
    const h = await admin('/healthz');
    assert.equal(h.status, 200, h.text);
    const next = Number(
      /ratls_collateral_next_update_timestamp_seconds\{fmspc="[0-9a-f]{12}"\} (\d+)/.exec(
        (await admin('/metrics')).text,
      )?.[1],
    );
    now = next * 1000 + 1000;
    const bad = await admin('/healthz');
    assert.equal(bad.status, 503, bad.text);
    assert.match(bad.text, /past its nextUpdate/);
  });
});
