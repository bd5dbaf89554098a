/**
 * Collateral coordinated through the cluster primary, black-box: the real gateway process with
 * `workers: 2` against the counting PCS stand-in. Clients arriving at once on both cold workers
 * make exactly one upstream request per collateral URL: the workers ask the primary, which holds
 * the one PCCS source (coalescing, disk cache). Each worker still verifies the collateral.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type EchoBackend,
  echoBackend,
  type GatewayProcess,
  haveBinary,
  run,
  simulatedPccs,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import type { PcsServer } from '@ratls/test-support/pcs-server';

const GOOD = '44'.repeat(32);

describe('gateway workers: 2 fetch PCCS collateral through the primary', {
  skip: haveBinary('curl') ? false : 'curl not installed',
}, () => {
  let dir: string;
  let pcs: PcsServer;
  let backend: EchoBackend;
  let gw: GatewayProcess;
  let client: { cert: string; key: string };
  let auditPath: string;

  before(async () => {
    dir = tempDir('ratls-gw-workers-coll-');
    ({ client, pcs } = await simulatedPccs(dir, GOOD));
    backend = await echoBackend();
    auditPath = join(dir, 'audit.jsonl');
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: svc\n    sgx: { mrEnclave: "${GOOD}" }\n`,
    );
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
workers: 2
trust: { anchors: [./sim/root.pem], pccs: "${pcs.url}", cacheDir: ./pccs-cache }
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
limits: { handshakeTimeoutMs: 10000, drainTimeoutMs: 2000 }
listeners:
  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${backend.port}" } }
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'), 60_000);
  });

  after(async () => {
    await gw?.stop('SIGKILL');
    await backend?.close();
    await pcs?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const curl = (path: string) =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '20',
      '--cert',
      client.cert,
      '--key',
      client.key,
      `https://127.0.0.1:${gw.addresses.api}${path}`,
    ]);
  const handshakes = () =>
    readFileSync(auditPath, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: { action: string; outcome: string }; process?: { pid: number } })
      .filter((e) => e.event.action === 'ratls-handshake');

  it('clients on both cold workers at once: accepted, one upstream request per collateral URL', async () => {
    assert.deepEqual(pcs.hits, [], 'cold: nothing fetched at start');
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => curl(`/cold${i}`)));
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `client ${i}: ${r.stderr}`);
    for (let i = 0; i < 8; i++) assert.equal((await curl(`/warm${i}`)).code, 0);
    for (let i = 0; i < 50 && handshakes().length < 16; i++) await new Promise((r) => setTimeout(r, 100));
    const ev = handshakes();
    assert.equal(ev.length, 16);
    assert.ok(ev.every((e) => e.event.outcome === 'success'));
    const pids = new Set(ev.map((e) => e.process?.pid));
    assert.equal(pids.size, 2, `served by two workers: ${[...pids].join(',')}`);

    const perUrl = new Map<string, number>();
    for (const h of pcs.hits) perUrl.set(h, (perUrl.get(h) ?? 0) + 1);
    assert.ok(
      [...perUrl.keys()].some((h) => h.includes('/sgx/certification/v4/tcb')),
      `TCB info fetched: ${pcs.hits.join(' ')}`,
    );
    for (const [url, n] of perUrl) assert.equal(n, 1, `${url} fetched ${n} times (hits: ${pcs.hits.join(' ')})`);
  });
});
