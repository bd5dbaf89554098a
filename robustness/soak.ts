/**
 * `npm run soak`: the real gateway process (packages/cli/src/gateway/entry.ts) on 127.0.0.1
 * under a bounded load of concurrent connections mixing allowed simulated enclaves (HTTP through
 * the gateway to an echo backend) and impostors: wrong measurement, debug enclave, broken binding
 * (quote of one key, certificate of another), no evidence at all, and slow handshakes that never
 * finish, from `--sources` loopback addresses. With `--flood-rate R`, the second half of the run
 * adds R impostor handshakes per second from one more source (127.0.0.2), and allowed p99 is
 * reported with and without it (goal: within 2x); the listener's per-source handshake rate
 * (`--rate-limit`, maxHandshakesPerSecondPerSource) refuses most of them before TLS.
 * Reported: p50/p99 per client kind and per gateway worker (matched through the audit events'
 * source address and process.pid), and V8 heap and external memory after forced GC at the end
 * against their post-warm-up level (goal: within 10%; each gateway process preloads
 * lib/memory-probe.mjs, which answers SIGUSR2). Pass: every allowed request answered with its own
 * data, every impostor refused, one audit event per attempt, file descriptors back to baseline,
 * heap and external memory back within 10%.
 *
 *   npm run soak -- [--seconds 60 | --minutes 10] [--concurrency 1000] [--max 200000] [--workers 2]
 *                   [--sources 100] [--rate-limit 50] [--flood-rate 200]
 */
import { generateKeyPairSync } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
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
import { childPids, percentile } from '../bench/stats.js';
import { certLayout, child, replaceNode, resignTbs } from './lib/der.js';

const PROBE = fileURLToPath(new URL('./lib/memory-probe.mjs', import.meta.url));

const { values } = parseArgs({
  options: {
    seconds: { type: 'string' },
    minutes: { type: 'string' },
    concurrency: { type: 'string', default: '1000' },
    max: { type: 'string', default: '200000' },
    workers: { type: 'string', default: '2' },
    sources: { type: 'string', default: '100' },
    'rate-limit': { type: 'string', default: '50' },
    'flood-rate': { type: 'string', default: '0' },
  },
});
const seconds = values.minutes ? Number(values.minutes) * 60 : Number(values.seconds ?? 60);
const concurrency = Number(values.concurrency);
const maxAttempts = Number(values.max);
const workers = Number(values.workers);
/** Soak clients come from this many loopback sources (127.1.0.1 …), as a fleet of enclaves would. */
const sourceCount = Math.max(1, Math.min(250, Number(values.sources)));
/** The listener's maxHandshakesPerSecondPerSource (0: none). */
const rateLimit = Number(values['rate-limit']);
/** Impostor handshakes per second from one extra source (127.0.0.2) during the second half (0: none). */
const floodRate = Number(values['flood-rate']);
const FLOOD_SOURCE = '127.0.0.2';
/** Within this of the post-warm-up level, heap and external memory count as returned (issue 12). */
const MEMORY_TOLERANCE = 0.1;
/**
 * Long enough that allowed clients queued behind 1,000 concurrent handshakes on 2 cores are not
 * cut off; the slow impostors are closed at this bound.
 */
const HANDSHAKE_TIMEOUT_MS = 20_000;
const GOOD = ['11', '12', '13'].map((b) => b.repeat(32));
const BAD = '22'.repeat(32);

type Kind = 'allowed' | 'measurement' | 'debug' | 'binding' | 'garbage' | 'slow' | 'flood';
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

interface Memory {
  heapUsed: number;
  external: number;
  rss: number;
}

/** The gateway's processes: the primary and, in cluster mode, its workers. */
function gatewayPids(primary: number): number[] {
  return workers > 1 ? [primary, ...childPids(primary)] : [primary];
}

function procStats(pids: readonly number[]): { rssKb: number; fds: number } {
  let rssKb = 0;
  let fds = 0;
  for (const pid of pids) {
    try {
      rssKb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      fds += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // A worker that ended between listing and reading.
    }
  }
  return { rssKb, fds };
}

/**
 * Heap and external memory after forced GC, summed over the gateway's processes: each one's
 * preloaded probe answers SIGUSR2 with a file (bounded wait). Undefined when a process did not.
 */
async function probeMemory(probeDir: string, pids: readonly number[], seq: number): Promise<Memory | undefined> {
  for (const pid of pids) process.kill(pid, 'SIGUSR2');
  const sum: Memory = { heapUsed: 0, external: 0, rss: 0 };
  for (const pid of pids) {
    const file = join(probeDir, `mem-${pid}-${seq}.json`);
    const until = Date.now() + 15_000;
    while (!existsSync(file)) {
      if (Date.now() > until) return undefined;
      await new Promise((r) => setTimeout(r, 50));
    }
    const m = JSON.parse(readFileSync(file, 'utf8')) as Memory;
    sum.heapUsed += m.heapUsed;
    sum.external += m.external;
    sum.rss += m.rss;
  }
  return sum;
}

const pct = (xs: number[], p: number): number => (xs.length === 0 ? Number.NaN : percentile(xs, p));
const ms = (x: number) => (Number.isNaN(x) ? '-' : x.toFixed(1));

const dir = tempDir('ratls-soak-');
const probeDir = join(dir, 'probe');
mkdirSync(probeDir);
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
  const perSource = Math.ceil((concurrency * 2) / sourceCount) + 8;
  writeFile(
    dir,
    'gateway.yaml',
    `version: 1
workers: ${workers}
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
admin: 127.0.0.1:0
# Soak clients come from ${sourceCount} loopback sources: the per-source caps must fit each one's share.
limits: { handshakeTimeoutMs: ${HANDSHAKE_TIMEOUT_MS}, drainTimeoutMs: 2000, maxConnections: ${concurrency * 2 + 1000}, maxPendingPerSource: ${perSource}${rateLimit > 0 ? `, maxHandshakesPerSecondPerSource: ${rateLimit}` : ''} }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
`,
  );
  // Every gateway process (cluster workers inherit the environment) preloads the memory probe.
  const savedOptions = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${savedOptions ?? ''} --expose-gc --import ${PROBE}`.trim();
  process.env.RATLS_SOAK_PROBE_DIR = probeDir;
  const gw = await spawnGateway(join(dir, 'gateway.yaml')).finally(() => {
    if (savedOptions === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = savedOptions;
    delete process.env.RATLS_SOAK_PROBE_DIR;
  });
  stop = () => gw.stop('SIGTERM');
  const primary = gw.child.pid as number;
  const port = gw.addresses.api as number;
  await new Promise((r) => setTimeout(r, 1000));
  const pids = gatewayPids(primary);
  const baseline = procStats(pids);
  console.log(
    `soak: ${seconds} s, ${concurrency} concurrent from ${sourceCount} sources, gateway workers ${workers} (pids ${pids.join(' ')}) port ${port}, per-source rate ${rateLimit || 'off'}/s, flood ${floodRate || 'off'}${floodRate ? `/s from ${FLOOD_SOURCE} in the second half` : ''}; baseline ${JSON.stringify(baseline)}`,
  );

  const counts = Object.fromEntries(
    [...MIX.map(([k]) => k), 'flood'].map((k) => [k, { attempts: 0, ok: 0, bad: 0 }]),
  ) as Record<Kind, { attempts: number; ok: number; bad: number }>;
  type Phase = 'warmup' | 'quiet' | 'flood';
  /** One finished attempt: what the per-kind, per-phase and per-worker figures are made of. */
  interface Sample {
    kind: Kind;
    phase: Phase;
    ms: number;
    /** The client's address and port, as the gateway's audit event records the source. */
    key: string;
    start: number;
  }
  const samples: Sample[] = [];
  const problems: string[] = [];
  let phase: Phase = 'warmup';
  let peakRssKb = baseline.rssKb;
  let seq = 0;
  let rnd = 0x12345678;
  const next = () => {
    rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0;
    return rnd / 2 ** 32;
  };

  /** One connection of a kind from `from`; resolves true when the outcome is the expected one. */
  function attempt(kind: Kind, from: string): Promise<boolean> {
    const id = `${++seq}-${kind}`;
    const t0 = performance.now();
    const at = phase;
    return new Promise((resolve) => {
      let sock: net.Socket | undefined;
      let done = false;
      let key = '';
      let handshakeMs = Number.NaN;
      const finish = (ok: boolean, why?: string) => {
        if (done) return;
        done = true;
        clearTimeout(guard);
        if (!ok && why && problems.length < 20) problems.push(`${id}: ${why}`);
        const t = kind === 'allowed' ? handshakeMs : performance.now() - t0;
        // An allowed client that never finished its handshake is counted wrong above, not timed.
        if (key && !Number.isNaN(t)) samples.push({ kind, phase: at, ms: t, key, start: t0 });
        resolve(ok);
      };
      const guard = setTimeout(() => {
        sock?.destroy();
        finish(false, 'no outcome in 90 s');
      }, 90_000);
      const raw = net.connect({ port, host: '127.0.0.1', localAddress: from });
      sock = raw;
      raw.on('error', () => {});
      raw.once('connect', () => {
        key = `${raw.localAddress}:${raw.localPort}`;
      });
      if (kind === 'slow') {
        // Half a ClientHello, then silence: the gateway must close it after its handshake timeout.
        raw.once('connect', () => raw.write(Buffer.from('16030100c8010000c40303', 'hex')));
        raw.on('close', () => {
          const t = performance.now() - t0;
          finish(t < HANDSHAKE_TIMEOUT_MS * 3 + 2000, `closed after ${t.toFixed(0)} ms`);
        });
        return;
      }
      const m =
        kind === 'allowed'
          ? material.allowed[seq % material.allowed.length]
          : kind === 'garbage'
            ? material.garbage
            : kind === 'flood'
              ? material.measurement
              : material[kind];
      const s = tls.connect({ socket: raw, rejectUnauthorized: false, ...(m ?? {}) });
      sock = s;
      let body = '';
      s.on('secureConnect', () => {
        handshakeMs = performance.now() - t0;
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

  let attempts = 0;
  const count = async (kind: Kind, from: string) => {
    attempts++;
    counts[kind].attempts++;
    if (await attempt(kind, from)) counts[kind].ok++;
    else counts[kind].bad++;
  };
  /** `concurrency` clients, each from its source, until `untilMs`. */
  const runLoad = (untilMs: number) =>
    Promise.all(
      Array.from({ length: concurrency }, async (_, i) => {
        const from = `127.1.0.${(i % sourceCount) + 1}`;
        while (performance.now() < untilMs && attempts < maxAttempts) {
          let kind = pick(next());
          // Without openssl there is no evidence-free certificate to present: count it as a measurement impostor.
          if (kind === 'garbage' && !material.garbage) kind = 'measurement';
          await count(kind, from);
        }
      }),
    );
  /** Impostor handshakes at `rate` per second from one source until `untilMs`, not bounded by concurrency. */
  const runFlood = async (rate: number, untilMs: number) => {
    const inFlight: Promise<void>[] = [];
    const t0 = performance.now();
    let started = 0;
    while (performance.now() < untilMs && attempts < maxAttempts) {
      const due = Math.floor(((performance.now() - t0) / 1000) * rate);
      for (; started < due; started++) inFlight.push(count('flood', FLOOD_SOURCE));
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(inFlight);
  };

  const sampler = setInterval(() => {
    peakRssKb = Math.max(peakRssKb, procStats(gatewayPids(primary)).rssKb);
    // The echo backend keeps every request; the soak only needs the answers.
    backend.requests.length = 0;
  }, 500);
  // Warm-up under the same load, then a quiet moment for the post-warm-up memory level.
  const warmupS = Math.min(30, Math.max(5, seconds * 0.1));
  await runLoad(performance.now() + warmupS * 1000);
  await new Promise((r) => setTimeout(r, 1000));
  const memWarm = await probeMemory(probeDir, gatewayPids(primary), 1);

  const tStart = performance.now();
  const deadline = tStart + seconds * 1000;
  const half = tStart + (seconds * 1000) / 2;
  phase = 'quiet';
  const main = runLoad(deadline);
  if (floodRate > 0) {
    await new Promise((r) => setTimeout(r, half - performance.now()));
    phase = 'flood';
    await runFlood(floodRate, deadline);
  }
  await main;
  clearInterval(sampler);
  const elapsed = (performance.now() - tStart) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  const endPids = gatewayPids(primary);
  const afterStats = procStats(endPids);
  const memAfter = await probeMemory(probeDir, endPids, memWarm ? 2 : 1);

  // Audit events, read line by line (a long soak writes hundreds of MB): one per attempt, and the
  // worker (process.pid) that decided each accepted handshake, by source address and port.
  let handshakes = 0;
  const acceptedBy = new Map<string, number[]>();
  const lines = createInterface({ input: createReadStream(auditPath), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines) {
    if (!line.includes('"ratls-handshake"')) continue;
    handshakes++;
    if (!line.includes('"reason":"accepted"')) continue;
    const ev = JSON.parse(line) as { source?: { ip?: string; port?: number }; process?: { pid?: number } };
    const key = `${ev.source?.ip}:${ev.source?.port}`;
    const q = acceptedBy.get(key) ?? [];
    q.push(ev.process?.pid ?? primary);
    acceptedBy.set(key, q);
  }
  // A port is reused only after its connection closed, so per address:port the k-th allowed
  // attempt (by start) is the k-th accepted event (in file order).
  const perWorker = new Map<number | 'unmatched', number[]>();
  const allowed = samples.filter((x) => x.kind === 'allowed' && x.phase !== 'warmup').sort((a, b) => a.start - b.start);
  const seen = new Map<string, number>();
  for (const x of allowed) {
    const k = seen.get(x.key) ?? 0;
    seen.set(x.key, k + 1);
    const pid = acceptedBy.get(x.key)?.[k] ?? 'unmatched';
    const a = perWorker.get(pid) ?? [];
    a.push(x.ms);
    perWorker.set(pid, a);
  }

  const total = Object.values(counts).reduce((n, c) => n + c.attempts, 0);
  const measured = samples.filter((x) => x.phase !== 'warmup');
  console.log(
    `\n${'kind'.padEnd(14)}${'attempts'.padStart(10)}${'expected'.padStart(10)}${'wrong'.padStart(8)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}   (after warm-up; allowed: to the end of the handshake, others: to the close)`,
  );
  for (const [k, c] of Object.entries(counts) as [Kind, (typeof counts)[Kind]][]) {
    if (c.attempts === 0) continue;
    const xs = measured.filter((x) => x.kind === k).map((x) => x.ms);
    console.log(
      `${k.padEnd(14)}${String(c.attempts).padStart(10)}${String(c.ok).padStart(10)}${String(c.bad).padStart(8)}${ms(pct(xs, 50)).padStart(10)}${ms(pct(xs, 99)).padStart(10)}`,
    );
  }
  console.log(`\nallowed handshakes per gateway worker (pid), after warm-up:`);
  for (const [pid, xs] of [...perWorker].sort((a, b) => String(a[0]).localeCompare(String(b[0])))) {
    console.log(
      `  ${String(pid).padEnd(10)} n ${String(xs.length).padStart(7)}  p50 ${ms(pct(xs, 50))} ms  p99 ${ms(pct(xs, 99))} ms`,
    );
  }
  const quiet = allowed.filter((x) => x.phase === 'quiet').map((x) => x.ms);
  const all = allowed.map((x) => x.ms);
  console.log(
    `\n${total} connections (${(attempts / (elapsed + warmupS)).toFixed(0)} conn/s); allowed handshake p50 ${ms(pct(all, 50))} ms, p99 ${ms(pct(all, 99))} ms (goal p99 <= 1000 ms)`,
  );
  let floodOk = true;
  if (floodRate > 0) {
    const flooded = allowed.filter((x) => x.phase === 'flood').map((x) => x.ms);
    const ratio = pct(flooded, 99) / pct(quiet, 99);
    floodOk = ratio <= 2;
    console.log(
      `impostor flood ${floodRate}/s from ${FLOOD_SOURCE}: allowed p99 without ${ms(pct(quiet, 99))} ms, with ${ms(pct(flooded, 99))} ms, ratio ${ratio.toFixed(2)} (goal <= 2)`,
    );
  }
  console.log(`audit ratls-handshake events ${handshakes}, attempts ${total}`);
  console.log(
    `gateway RSS baseline ${(baseline.rssKb / 1024).toFixed(0)} MiB, peak ${(peakRssKb / 1024).toFixed(0)} MiB, after ${(afterStats.rssKb / 1024).toFixed(0)} MiB; fds baseline ${baseline.fds}, after ${afterStats.fds}`,
  );
  let memoryOk = false;
  if (memWarm && memAfter) {
    const d = (a: number, b: number) =>
      `${(a / 2 ** 20).toFixed(1)} -> ${(b / 2 ** 20).toFixed(1)} MiB (${(((b - a) / a) * 100).toFixed(1)} %)`;
    memoryOk =
      memAfter.heapUsed <= memWarm.heapUsed * (1 + MEMORY_TOLERANCE) &&
      memAfter.external <= memWarm.external * (1 + MEMORY_TOLERANCE);
    console.log(
      `gateway memory after forced GC, post-warm-up -> end (all processes): V8 heap ${d(memWarm.heapUsed, memAfter.heapUsed)}, external ${d(memWarm.external, memAfter.external)}, rss ${d(memWarm.rss, memAfter.rss)}: ${memoryOk ? 'within' : 'NOT within'} ${MEMORY_TOLERANCE * 100} %`,
    );
  } else console.log('gateway memory: a process did not answer the memory probe (SIGUSR2)');
  for (const p of problems) console.log(`PROBLEM ${p}`);
  const wrong = Object.values(counts).reduce((n, c) => n + c.bad, 0);
  const pass = wrong === 0 && handshakes === total && afterStats.fds <= baseline.fds + 2 * endPids.length && memoryOk;
  console.log(pass ? 'PASS' : 'FAIL');
  if (!floodOk) console.log('(flood goal not met: see the ratio above)');
  process.exitCode = pass ? 0 : 1;
} finally {
  await stop?.();
  await backend.close();
  rmSync(dir, { recursive: true, force: true });
}
