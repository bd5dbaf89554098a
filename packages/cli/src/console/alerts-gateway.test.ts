import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import {
  echoBackend,
  GOOD,
  run,
  scenarioCerts,
  scenarioCollateral,
  scenarioOptions,
  scenarioPolicy,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '@ratls/verifier';
import { startGateway } from '../gateway/gateway.js';
import type { AlertBatch } from './alerts.js';
import { eventId } from './tally.js';

/** The receiver answers slowly on purpose: a handshake that waited for it would take > 6 s. */
const RECEIVER_DELAY_MS = 6_000;

describe('gateway alerts', { skip: HAVE_VECTORS ? false : 'needs the collateral vector' }, () => {
  it('a burst of ten impostors is one webhook batch with their audit event ids; handshakes do not wait for it', async () => {
    const batches: AlertBatch[] = [];
    const rx = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        batches.push(JSON.parse(body));
        setTimeout(() => res.writeHead(200).end(), RECEIVER_DELAY_MS);
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir('ratls-alerts-');
    const certs = scenarioCerts(dir, ['impostor'] as const);
    const backend = await echoBackend();
    writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
    const config = writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  collateral: ${scenarioCollateral().path}
policy: ./policy.yaml
alerts: { webhook: "http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook", batchMs: 4000 }
limits: { handshakeTimeoutMs: 1500, drainTimeoutMs: 1000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}/base" }
`,
    );
    const events: AuditEvent[] = [];
    const gw = await startGateway(
      config,
      scenarioOptions(events, () => scenarioCollateral().now),
    );
    try {
      const url = `https://127.0.0.1:${gw.addresses().api?.port}/hello`;
      const times = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const t0 = Date.now();
          await run('curl', [
            '-sS',
            '-k',
            '--max-time',
            '10',
            '--cert',
            certs.impostor.cert,
            '--key',
            certs.impostor.key,
            url,
          ]);
          return Date.now() - t0;
        }),
      );
      times.sort((a, b) => a - b);
      console.log(`alerts: 10 impostor handshakes (curl, in parallel) took median ${times[5]} ms, max ${times[9]} ms`);
      for (let i = 0; i < 400 && batches.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(batches.length, 1);
      const refusals = events.filter((e) => e.event.reason === 'measurement_mismatch');
      assert.equal(refusals.length, 10);
      assert.deepEqual(new Set(batches[0]?.alerts.map((a) => a.id)), new Set(refusals.map(eventId)));
      // Far under the receiver's delay: no handshake waited for the webhook.
      assert.ok((times[9] as number) < RECEIVER_DELAY_MS, `slowest handshake ${times[9]} ms`);
    } finally {
      await gw.close();
      await backend.close();
      rx.closeAllConnections();
      await new Promise<void>((r) => rx.close(() => r()));
    }
  });

  it('measured: p50 handshake with a webhook receiver that stalls 2 s is within 1.5x of the same gateway without alerts', async () => {
    const STALL_MS = 2_000;
    let posts = 0;
    const rx = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        posts++;
        setTimeout(() => res.writeHead(200).end(), STALL_MS);
      });
    });
    await new Promise<void>((r) => rx.listen(0, '127.0.0.1', () => r()));
    const dir = tempDir('ratls-alerts-cmp-');
    const certs = scenarioCerts(dir, ['impostor'] as const);
    const backend = await echoBackend();
    writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
    const gatewayYaml = (alerts: string) => `version: 1
trust:
  collateral: ${scenarioCollateral().path}
policy: ./policy.yaml
${alerts}
limits: { handshakeTimeoutMs: 1500, drainTimeoutMs: 1000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}/base" }
`;
    // A short batch window and no rate cap to speak of: POSTs are in flight (stalled) during the measurement.
    const hook = `alerts: { webhook: "http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook", batchMs: 100, maxBatchesPerMinute: 600 }`;
    const withAlerts = await startGateway(
      writeFile(dir, 'with.yaml', gatewayYaml(hook)),
      scenarioOptions([], () => scenarioCollateral().now),
    );
    const without = await startGateway(
      writeFile(dir, 'without.yaml', gatewayYaml('')),
      scenarioOptions([], () => scenarioCollateral().now),
    );
    const handshake = async (gw: typeof without) => {
      const t0 = performance.now();
      await run('curl', [
        '-sS',
        '-k',
        '--max-time',
        '10',
        '--cert',
        certs.impostor.cert,
        '--key',
        certs.impostor.key,
        `https://127.0.0.1:${gw.addresses().api?.port}/hello`,
      ]);
      return performance.now() - t0;
    };
    try {
      const a: number[] = [];
      const b: number[] = [];
      // Interleaved, so both see the same load on the shared machine.
      for (let i = 0; i < 12; i++) {
        a.push(await handshake(withAlerts));
        b.push(await handshake(without));
      }
      const p50 = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] as number;
      const [pa, pb] = [p50(a), p50(b)];
      console.log(
        `alerts: p50 impostor handshake (curl, sequential) ${pa.toFixed(0)} ms with a webhook stalling ${STALL_MS} ms, ${pb.toFixed(0)} ms without (ratio ${(pa / pb).toFixed(2)}); ${posts} POSTs received`,
      );
      assert.ok(posts >= 2, `the webhook was being called during the measurement (${posts} POSTs)`);
      // 1.5x plus 100 ms for curl's own start-up noise on a loaded 2-core machine; a handshake that
      // waited for the webhook would take the receiver's 2 s.
      assert.ok(pa <= pb * 1.5 + 100, `p50 with a stalling webhook ${pa.toFixed(0)} ms vs ${pb.toFixed(0)} ms without`);
      assert.ok(Math.max(...a) < STALL_MS, `slowest handshake ${Math.max(...a).toFixed(0)} ms`);
    } finally {
      await withAlerts.close();
      await without.close();
      await backend.close();
      rx.closeAllConnections();
      await new Promise<void>((r) => rx.close(() => r()));
    }
  });

  it('refuses an alerts block with neither webhook nor file', async () => {
    const dir = tempDir('ratls-alerts-');
    const { loadGatewayConfig } = await import('../gateway/config/config.js');
    writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
    scenarioCerts(dir, [] as const);
    const config = writeFile(
      dir,
      'gateway.yaml',
      `version: 1\ntrust:\n  collateral: ${scenarioCollateral().path}\npolicy: ./policy.yaml\nalerts: { reasons: [measurement_mismatch] }\nlisteners:\n  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:1" } }\n`,
    );
    assert.throws(() => loadGatewayConfig(config), { code: 'ERR_GATEWAY_CONFIG' });
  });
});
