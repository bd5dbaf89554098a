/**
 * `npm run soak`: the real gateway process (packages/cli/src/gateway/entry.ts) on 127.0.0.1
 * under a bounded load of concurrent connections mixing allowed simulated enclaves (HTTP through
 * the gateway to an echo backend) and impostors: wrong measurement, debug enclave, broken binding
 * (quote of one key, certificate of another), no evidence at all, and slow handshakes that never
 * finish. Pass: every allowed request answered with its own data, every impostor refused, one
 * audit event per completed handshake, file descriptors back to baseline, RSS back near it.
 *
 *   npm run soak -- [--seconds 60 | --minutes 10] [--concurrency 1000] [--max 200000]
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { readPemOne } from '@ratls/evidence';
import { initSimulation } from '@ratls/sim';
import {
  echoBackend,
  haveBinary,
  opensslCert,
  simCert,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { certLayout, child, replaceNode, resignTbs } from './lib/der.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    minutes: { type: 'string' },
    concurrency: { type: 'string', default: '1000' },
    max: { type: 'string', default: '200000' },
  },
});
const seconds = values.minutes ? Number(values.minutes) * 60 : Number(values.seconds ?? 60);
const concurrency = Number(values.concurrency);
const maxAttempts = Number(values.max);
/**
 * Long enough that allowed clients queued behind 1,000 concurrent handshakes on 2 cores are not
 * cut off; the slow impostors are closed at this bound.
 */
const HANDSHAKE_TIMEOUT_MS = 20_000;
const GOOD = ['11', '12', '13'].map((b) => b.repeat(32));
const BAD = '22'.repeat(32);

type Kind = 'allowed' | 'measurement' | 'debug' | 'binding' | 'garbage' | 'slow';
const MIX: [Kind, number][] = [
  ['allowed', 70],
  ['measurement', 8],
  ['debug', 6],
  ['binding', 6],
  ['garbage', 5],
  ['slow', 5],
];

/** A certificate whose SPKI is replaced by a fresh key (and re-signed by it): the quote binds another key. */
function brokenBinding(certPem: string, dir: string): { cert: string; key: string } {
  const der = readPemOne(certPem, 'CERTIFICATE');
  const l = certLayout(der);
  const kids = l.tbs.children ?? [];
  const spkiIndex = kids[0]?.tag === 0xa0 ? 6 : 5;
  const spki = child(l.tbs, spkiIndex);
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const newSpki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  const tbs = replaceNode(der, l.tbs, spki.start, newSpki);
  const out = resignTbs(der, tbs, privateKey, 'sha256');
  const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(out).toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE-----\n`;
  writeFileSync(join(dir, 'binding.crt'), pem);
  writeFileSync(join(dir, 'binding.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { cert: join(dir, 'binding.crt'), key: join(dir, 'binding.key') };
}

function pick(r: number): Kind {
  let x = r * MIX.reduce((s, [, w]) => s + w, 0);
  for (const [k, w] of MIX) {
    x -= w;
    if (x < 0) return k;
  }
  return 'allowed';
}

/** V8 heap in use, from the gateway's own /metrics (prom-client default metrics). */
async function heapUsedMiB(adminPort: number | undefined): Promise<number> {
  if (!adminPort) return Number.NaN;
  try {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    const m = /^nodejs_heap_size_used_bytes (\d+(?:\.\d+)?)/m.exec(text);
    return m ? Number(m[1]) / 2 ** 20 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function procStats(pid: number): { rssKb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssKb, fds: readdirSync(`/proc/${pid}/fd`).length };
}

const dir = tempDir('ratls-soak-');
const backend = await echoBackend();
let stop: (() => Promise<unknown>) | undefined;
try {
  const sim = join(dir, 'sim');
  await initSimulation(sim);
  const creds = {
    allowed: await Promise.all(GOOD.map((m, i) => simCert(sim, join(dir, `good${i}`), { mrEnclave: m }))),
    measurement: await simCert(sim, join(dir, 'bad'), { mrEnclave: BAD }),
    debug: await simCert(sim, join(dir, 'debug'), { mrEnclave: GOOD[0] as string, debug: true }),
  };
  await simCert(sim, join(dir, 'server'), { mrEnclave: GOOD[0] as string, subject: 'gateway' });
  const binding = brokenBinding(readFileSync(creds.allowed[0]?.cert as string, 'utf8'), dir);
  const garbage = haveBinary('openssl') ? opensslCert(dir, 'garbage') : undefined;
  const load = (c: { cert: string; key: string }) => ({ cert: readFileSync(c.cert), key: readFileSync(c.key) });
  const material = {
    allowed: creds.allowed.map(load),
    measurement: load(creds.measurement),
    debug: load(creds.debug),
    binding: load(binding),
    garbage: garbage ? load(garbage) : undefined,
  };
  writeFile(
    dir,
    'policy.yaml',
    `version: 1\ndefaults:\n  simulated: true   # the simulator's root: soak only\nidentities:\n  - name: soak\n    sgx: { mrEnclave: [${GOOD.map((m) => `"${m}"`).join(', ')}] }\n`,
  );
  const auditPath = join(dir, 'audit.jsonl');
  writeFile(
    dir,
    'gateway.yaml',
    `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
admin: 127.0.0.1:0
# Every soak client connects from 127.0.0.1: one source, so the per-source cap must fit them all.
limits: { handshakeTimeoutMs: ${HANDSHAKE_TIMEOUT_MS}, drainTimeoutMs: 2000, maxConnections: ${concurrency * 2}, maxPendingPerSource: ${concurrency * 2} }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
`,
  );
  const gw = await spawnGateway(join(dir, 'gateway.yaml'));
  stop = () => gw.stop('SIGTERM');
  const pid = gw.child.pid as number;
  const port = gw.addresses.api as number;
  await new Promise((r) => setTimeout(r, 1000));
  const baseline = procStats(pid);
  const heapBefore = await heapUsedMiB(gw.addresses.admin);
  console.log(
    `soak: ${seconds} s, ${concurrency} concurrent, gateway pid ${pid} port ${port}, baseline ${JSON.stringify(baseline)}`,
  );

  const counts = Object.fromEntries(MIX.map(([k]) => [k, { attempts: 0, ok: 0, bad: 0 }])) as Record<
    Kind,
    { attempts: number; ok: number; bad: number }
  >;
  const latencies: number[] = [];
  const problems: string[] = [];
  let peakRssKb = baseline.rssKb;
  let seq = 0;
  let rnd = 0x12345678;
  const next = () => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return rnd / 2 ** 32;
  };

  /** One connection of a kind; resolves true when the outcome is the expected one. */
  function attempt(kind: Kind): Promise<boolean> {
    const id = `${++seq}-${kind}`;
    const t0 = performance.now();
    return new Promise((resolve) => {
      let sock: net.Socket | undefined;
      let done = false;
      const finish = (ok: boolean, why?: string) => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        if (!ok && why && problems.length < 20) problems.push(`${id}: ${why}`);
        resolve(ok);
      };
      const guard = setTimeout(() => {
        sock?.destroy();
        finish(false, 'no outcome in 90 s');
      }, 90_000);
      if (kind === 'slow') {
        // Half a ClientHello, then silence: the gateway must close it after its handshake timeout.
        const s = net.connect(port, '127.0.0.1', () => s.write(Buffer.from('16030100c8010000c40303', 'hex')));
        sock = s;
        s.on('error', () => {});
        s.on('close', () => {
          const ms = performance.now() - t0;
          finish(ms < HANDSHAKE_TIMEOUT_MS * 3 + 2000, `closed after ${ms.toFixed(0)} ms`);
        });
        return;
      }
      const m =
        kind === 'allowed'
          ? material.allowed[seq % material.allowed.length]
          : kind === 'garbage'
            ? material.garbage
            : material[kind];
      const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(m ?? {}) });
      sock = s;
      let body = '';
      s.on('secureConnect', () => {
        if (kind === 'allowed') latencies.push(performance.now() - t0);
        s.write(`GET /soak/${id} HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n`);
      });
      s.on('data', (d: Buffer) => {
        body += d.toString('utf8');
      });
      s.on('error', () => {});
      s.on('close', () => {
        const served = body.startsWith('HTTP/1.1 200') && body.includes(`/soak/${id}`);
        if (kind === 'allowed') finish(served, served ? undefined : `allowed not served: ${body.slice(0, 80)}`);
        else finish(!body.includes('HTTP/1.1 200'), `impostor served: ${body.slice(0, 80)}`);
      });
    });
  }

  const tStart = performance.now();
  const deadline = tStart + seconds * 1000;
  let attempts = 0;
  const sampler = setInterval(() => {
    peakRssKb = Math.max(peakRssKb, procStats(pid).rssKb);
  }, 500);
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline && attempts < maxAttempts) {
        attempts++;
        let kind = pick(next());
        // Without openssl there is no evidence-free certificate to present: count it as a measurement impostor.
        if (kind === 'garbage' && !material.garbage) kind = 'measurement';
        counts[kind].attempts++;
        if (await attempt(kind)) counts[kind].ok++;
        else counts[kind].bad++;
      }
    }),
  );
  clearInterval(sampler);
  const elapsed = (performance.now() - tStart) / 1000;
  await new Promise((r) => setTimeout(r, HANDSHAKE_TIMEOUT_MS + 2000));
  const afterStats = procStats(pid);
  const heapAfter = await heapUsedMiB(gw.addresses.admin);
  const audit = readFileSync(auditPath, 'utf8').split('\n').filter(Boolean);
  const handshakes = audit.filter((l) => l.includes('"ratls-handshake"')).length;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? Number.NaN;
  const total = Object.values(counts).reduce((s, c) => s + c.attempts, 0);
  const completed = total - counts.slow.attempts;
  console.log(`\n${'kind'.padEnd(14)}${'attempts'.padStart(10)}${'expected'.padStart(10)}${'wrong'.padStart(10)}`);
  for (const [k, c] of Object.entries(counts)) {
    console.log(
      `${k.padEnd(14)}${String(c.attempts).padStart(10)}${String(c.ok).padStart(10)}${String(c.bad).padStart(10)}`,
    );
  }
  console.log(
    `\n${total} connections in ${elapsed.toFixed(1)} s = ${(total / elapsed).toFixed(0)} conn/s; allowed handshake p50 ${pct(0.5).toFixed(1)} ms, p99 ${pct(0.99).toFixed(1)} ms`,
  );
  console.log(
    `audit lines ${audit.length}, ratls-handshake events ${handshakes}, attempts ${total} (of which slow ${total - completed})`,
  );
  console.log(
    `gateway RSS baseline ${(baseline.rssKb / 1024).toFixed(0)} MiB, peak ${(peakRssKb / 1024).toFixed(0)} MiB, after ${(afterStats.rssKb / 1024).toFixed(0)} MiB; fds baseline ${baseline.fds}, after ${afterStats.fds}`,
  );
  console.log(
    `gateway V8 heap used (nodejs_heap_size_used_bytes): before ${heapBefore.toFixed(0)} MiB, after ${heapAfter.toFixed(0)} MiB`,
  );
  for (const p of problems) console.log(`PROBLEM ${p}`);
  const wrong = Object.values(counts).reduce((s, c) => s + c.bad, 0);
  const pass = wrong === 0 && handshakes === total && afterStats.fds <= baseline.fds + 2;
  console.log(pass ? 'PASS' : 'FAIL');
  process.exitCode = pass ? 0 : 1;
} finally {
  await stop?.();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
}
