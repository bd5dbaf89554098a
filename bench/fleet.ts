/**
 * Fleet benchmark (issue 14): full mutual TLS 1.3 handshakes per second through a real HAProxy
 * (TCP mode, `send-proxy-v2`, /healthz checks; test-support/haproxy.ts, the configuration
 * docs/gateway.md shows) in front of two gateway processes, against the same HAProxy in front of
 * one. Each handshake carries a simulated RA-TLS client certificate that both gateways verify for
 * real (collateral from one PCCS stand-in), then one echo round trip through a TCP backend, close;
 * no resumption. The two setups are interleaved round by round; medians with the round range.
 * On a 2-core machine the load generator, HAProxy and the gateways share cores, so the ratio is
 * bounded by the CPU, not the design; the lead runs the final figures on a quiet machine.
 * Standalone: node --conditions=development --import tsx bench/fleet.ts [--quick]
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import {
  freePort,
  type GatewayProcess,
  simulatedPccs,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { type HaproxyFleet, haproxySkip, startHaproxyFleet } from '@ratls/test-support/haproxy';
import { type BenchOptions, fmtRatio, optionsFromArgv, Rounds } from './stats.js';

const GOOD = '55'.repeat(32);
const CONCURRENCY = 8;

function handshakeOnce(port: number, cert: Buffer, key: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, cert, key, rejectUnauthorized: false, minVersion: 'TLSv1.3' });
    s.once('secureConnect', () => s.write('x'));
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

async function handshakes(port: number, cert: Buffer, key: Buffer, n: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) await handshakeOnce(port, cert, key);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

/** Runs the fleet suite (registered in bench/run.ts). */
export async function run(opts: BenchOptions): Promise<void> {
  const skip = haproxySkip();
  if (skip) {
    console.log(`fleet: skipped, ${skip}`);
    return;
  }
  const dir = tempDir('ratls-bench-fleet-');
  const { client, pcs } = await simulatedPccs(dir, GOOD);
  const cert = readFileSync(client.cert);
  const key = readFileSync(client.key);
  const echo = net.createServer((s) => {
    s.on('data', (c: Buffer) => s.write(c));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
  writeFile(
    dir,
    'policy.yaml',
    `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: svc\n    sgx: { mrEnclave: "${GOOD}" }\n`,
  );
  const members: Array<{ port: number; adminPort: number }> = [];
  for (const n of [1, 2]) {
    const m = { port: await freePort(), adminPort: await freePort() };
    members.push(m);
    writeFile(
      dir,
      `gateway-${n}.yaml`,
      `version: 1
trust: { anchors: [./sim/root.pem], pccs: "${pcs.url}", cacheDir: ./pccs-cache-${n} }
policy: ./policy.yaml
admin: 127.0.0.1:${m.adminPort}
audit: { file: ./audit-${n}.jsonl }
limits: { drainTimeoutMs: 500, maxPendingPerSource: 256 }
listeners:
  - name: kms
    listen: 127.0.0.1:${m.port}
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "127.0.0.1:${(echo.address() as net.AddressInfo).port}" }
    proxyProtocol: { from: [127.0.0.1/32] }
`,
    );
  }
  const gws: GatewayProcess[] = [];
  const lbs: HaproxyFleet[] = [];
  try {
    gws.push(...(await Promise.all([1, 2].map((n) => spawnGateway(join(dir, `gateway-${n}.yaml`))))));
    const twoDir = join(dir, 'two');
    const oneDir = join(dir, 'one');
    mkdirSync(twoDir);
    mkdirSync(oneDir);
    const two = await startHaproxyFleet(twoDir, await freePort(), members, 1000);
    lbs.push(two);
    const one = await startHaproxyFleet(oneDir, await freePort(), members.slice(0, 1), 1000);
    lbs.push(one);
    await new Promise((r) => setTimeout(r, 1500)); // first health checks pass
    const n = opts.quick ? 100 : 400;
    const rounds = opts.quick ? 2 : 5;
    const hs = new Rounds<'two' | 'one'>();
    await handshakes(two.port, cert, key, 40); // warm both gateways' caches and JITs
    await handshakes(one.port, cert, key, 20);
    for (let r = 0; r < rounds; r++) {
      hs.add('two', await handshakes(two.port, cert, key, n));
      hs.add('one', await handshakes(one.port, cert, key, n));
    }
    console.log(
      `fleet handshakes (mutual TLS 1.3, attestation verified, HAProxy send-proxy-v2), ${n} x ${rounds} rounds, concurrency ${CONCURRENCY}:`,
    );
    console.log(`  two gateways behind HAProxy: ${hs.median('two').toFixed(0)}/s ${hs.spread('two', 0)}`);
    console.log(`  one gateway behind HAProxy:  ${hs.median('one').toFixed(0)}/s ${hs.spread('one', 0)}`);
    console.log(`  ratio two/one: ${fmtRatio(hs.ratio('two', 'one'))}`);
  } finally {
    for (const lb of lbs) await lb.stop();
    await Promise.all(gws.map((g) => g.stop()));
    await new Promise<void>((r) => echo.close(() => r()));
    await pcs.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run(optionsFromArgv(process.argv));
