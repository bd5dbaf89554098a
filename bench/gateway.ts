/**
 * Gateway benchmark: the real gateway process (simulated RA-TLS client certificate, real
 * attestation verification) against its peers, interleaved round by round, medians with the
 * range of round values:
 * - Bulk upload throughput: client → terminator (TLS) → plain TCP sink, for the gateway, HAProxy
 *   (nbthread = workers, and nbthread 2 for reference), a plain Node TLS proxy (mutual TLS, connect,
 *   pipe: the Node floor for the same transport work) and a direct TLS sink. Goal: gateway ≥ 0.9×
 *   HAProxy. Terminator CPU per MiB beside it.
 * - Handshakes per second: full mutual TLS 1.3 handshake, one round trip through the terminator
 *   to the sink, close; no resumption. Goal: gateway ≥ 0.9× HAProxy. Terminator CPU per handshake.
 * - Small HTTP requests on a warm keep-alive connection: gateway (http forward) versus direct HTTPS.
 * Fairness: both terminators load the same certificate and key and pin the same client
 * certificate; the client offers only TLS 1.3 with one suite (BENCH_CIPHERSUITE) and never
 * resumes; HAProxy runs without tickets or session cache, and the Node terminators (gateway,
 * Node TLS proxy) with OpenSSL `NumTickets = 0` (bench/preload/no-session-tickets.cnf), so none
 * builds tickets. Where `taskset` and two cores exist, the terminator under test runs on core 0
 * and this process (the load generator) with the backends on core 1; with two or more workers
 * (threads) a terminator runs on every core. Terminator CPU sums
 * the cluster primary and its workers. Ratios are taken per round (each round against itself).
 * Standalone: node --conditions=development --import tsx bench/gateway.ts [--quick] [--workers 1,2] [--profile DIR]
 * RATLS_BENCH_GW_ONLY=handshakes (or bulk) runs only that part, so a `--profile` shows one workload.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { initSimulation } from '@ratls/sim';
import { freePort, haveBinary, simCert, spawnGateway, tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import { BENCH_CIPHERSUITE, type HaproxyProcess, haproxyVersion, startHaproxy } from './haproxy.js';
import {
  type BenchOptions,
  childPids,
  cpuSecondsOf,
  cpuSecondsOfAll,
  fmtRatio,
  median,
  optionsFromArgv,
  percentile,
  Rounds,
} from './stats.js';

const CHUNK = Buffer.alloc(64 * 1024, 0x61);
/** As in the issue's table: enough in flight to keep two workers (or threads) busy. */
const HANDSHAKE_CONCURRENCY = 16;

/** Pins every thread of `pid` to `cpus` (e.g. "0"); false when taskset is missing or refuses. */
function pin(pid: number | undefined, cpus: string): boolean {
  if (pid === undefined) return false;
  return spawnSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' }).status === 0;
}

/**
 * Child role, one process for every backend so both paths have the same number of processes:
 * a TLS sink and an HTTPS server (the direct peers), a plain TCP sink and an HTTP server (behind
 * the gateway).
 */
async function backendRole(): Promise<void> {
  const cert = readFileSync(process.env.RATLS_BENCH_CERT as string);
  const key = readFileSync(process.env.RATLS_BENCH_KEY as string);
  const ok = (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'content-length': 2 });
    res.end('ok');
  };
  const servers: net.Server[] = [
    tls.createServer({ cert, key }, (s) => countingSink(s)),
    https.createServer({ cert, key, keepAliveTimeout: 60_000 }, ok),
    net.createServer((s) => countingSink(s)),
    http.createServer({ keepAliveTimeout: 60_000 }, ok),
  ];
  for (const s of servers) await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  process.stdout.write(`ports ${servers.map((s) => (s.address() as net.AddressInfo).port).join(' ')}\n`);
}

/**
 * Child role: the plainest Node terminator doing the gateway's transport work, and nothing of its
 * attestation: mutual TLS (the client certificate checked against the pinned one by OpenSSL, as
 * HAProxy's `verify required`), one backend connect per connection, `pipe` both ways. Its CPU per
 * handshake is the floor a Node-based gateway can reach; the gateway's figure minus this one is
 * what ratls adds (pre-TLS acceptor, appraisal with a cached result, audit, metrics).
 */
async function nodeProxyRole(): Promise<void> {
  const backendPort = Number(process.env.RATLS_BENCH_BACKEND);
  const server = tls.createServer(
    {
      cert: readFileSync(process.env.RATLS_BENCH_CERT as string),
      key: readFileSync(process.env.RATLS_BENCH_KEY as string),
      ca: readFileSync(process.env.RATLS_BENCH_CLIENT_CA as string),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (client) => {
      const backend = net.connect({ host: '127.0.0.1', port: backendPort });
      backend.setNoDelay(true);
      const close = () => {
        client.destroy();
        backend.destroy();
      };
      client.on('error', close);
      backend.on('error', close);
      client.pipe(backend);
      backend.pipe(client);
    },
  );
  server.on('tlsClientError', () => undefined);
  process.once('SIGTERM', () => process.exit(0));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  process.stdout.write(`port ${(server.address() as net.AddressInfo).port}\n`);
}

/** Reads an 8-byte length, then that many bytes, then answers "ok". */
function countingSink(s: net.Socket): void {
  let want = -1;
  let got = 0;
  let head = Buffer.alloc(0);
  s.on('data', (c: Buffer) => {
    if (want < 0) {
      head = Buffer.concat([head, c]);
      if (head.length < 8) return;
      want = Number(head.readBigUInt64BE(0));
      got = head.length - 8;
    } else got += c.length;
    if (got >= want) {
      s.end('ok');
      want = Number.POSITIVE_INFINITY;
    }
  });
  s.on('error', () => undefined);
}

interface Client {
  cert: Buffer;
  key: Buffer;
}

function connect(port: number, c: Client): tls.TLSSocket {
  return tls.connect({
    host: '127.0.0.1',
    port,
    cert: c.cert,
    key: c.key,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: BENCH_CIPHERSUITE,
  });
}

/** One upload of `bytes` through `port`: MB/s. */
async function upload(port: number, c: Client, bytes: number): Promise<number> {
  const s = connect(port, c);
  await new Promise<void>((r, j) => {
    s.once('secureConnect', () => r());
    s.once('error', j);
  });
  const t0 = performance.now();
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(bytes));
  s.write(len);
  const done = new Promise<void>((r, j) => {
    s.once('data', () => r());
    s.once('error', j);
  });
  for (let sent = 0; sent < bytes; sent += CHUNK.length) {
    if (!s.write(CHUNK)) await new Promise((r) => s.once('drain', r));
  }
  await done;
  const secs = (performance.now() - t0) / 1000;
  s.destroy();
  return bytes / secs / 1e6;
}

/** Handshake, an empty upload (8-byte zero length), the sink's "ok", close. */
function handshakeOnce(port: number, c: Client): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, c);
    s.once('secureConnect', () => s.write(Buffer.alloc(8)));
    s.once('data', () => {
      s.destroy();
      resolve();
    });
    s.once('error', reject);
  });
}

/** `n` handshakes, HANDSHAKE_CONCURRENCY at a time: handshakes per wall second. */
async function handshakes(port: number, c: Client, n: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: HANDSHAKE_CONCURRENCY }, async () => {
      while (next++ < n) await handshakeOnce(port, c);
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function latencies(agent: https.Agent, port: number, warmup: number, requests: number): Promise<number[]> {
  const one = () =>
    new Promise<number>((r, j) => {
      const t0 = performance.now();
      const req = https.request({ host: '127.0.0.1', port, path: '/x', agent, rejectUnauthorized: false }, (res) => {
        res.resume();
        res.on('end', () => r(performance.now() - t0));
      });
      req.on('error', j);
      req.end();
    });
  for (let i = 0; i < warmup; i++) await one();
  const out: number[] = [];
  for (let i = 0; i < requests; i++) out.push(await one());
  return out;
}

/** Per-round difference of terminator CPU, gateway minus the Node TLS proxy: median [range]. */
function addedCpu(r: Rounds<string>, gw: string, digits: number): string {
  const a = r.values(`${gw} cpu`);
  const b = r.values('Node TLS proxy cpu');
  const d = a.map((x, i) => x - (b[i] as number));
  return `${median(d).toFixed(digits)} [${Math.min(...d).toFixed(digits)}–${Math.max(...d).toFixed(digits)}]`;
}

interface Peer {
  label: string;
  port: number;
  /** The terminator's processes (a cluster: primary and workers), for CPU time; [] for the direct sink. */
  pids: number[];
  /** Cores this peer may run on: one core for one worker or thread, both for two or more. */
  cores: number;
  /** A cluster's primary (accepts, hands off, writes audit): its own CPU share is printed too. */
  primary?: number;
}

type GatewayProcess = Awaited<ReturnType<typeof spawnGateway>>;

/** The gateway configuration for `workers` processes in front of the backends. */
function gatewayConfig(workers: number, plainSink: number, plainHttp: number): string {
  return `version: 1
workers: ${workers}
trust: { anchors: [./sim/root.pem], collateral: ./sim/collateral.json }
policy: ./policy.yaml
audit: { file: ./audit-${workers}.jsonl }
listeners:
  - { name: tcp, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { tcp: "127.0.0.1:${plainSink}" } }
  - { name: web, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${plainHttp}" } }
`;
}

const PROFILE_PRELOAD = fileURLToPath(new URL('./preload/cpu-profile.mjs', import.meta.url));
/**
 * HAProxy here issues no session tickets; Node's TLS server issues two per handshake unless its
 * OpenSSL configuration says `NumTickets = 0` (no API for it). The gateway and the Node TLS proxy
 * run with that configuration, so all three terminators do the same TLS work.
 * RATLS_BENCH_TLS_TICKETS=1 keeps Node's default (the comparison before this was noticed).
 */
const NO_TICKETS_CONF = fileURLToPath(new URL('./preload/no-session-tickets.cnf', import.meta.url));
const nodeTickets = process.env.RATLS_BENCH_TLS_TICKETS === '1';
const ticketEnv = (): Record<string, string> => (nodeTickets ? {} : { OPENSSL_CONF: NO_TICKETS_CONF });

/** Starts a gateway; with `profileDir`, each of its processes writes a CPU profile there on exit. */
async function startGateway(configPath: string, profileDir: string | undefined): Promise<GatewayProcess> {
  const saved = {
    opts: process.env.NODE_OPTIONS,
    dir: process.env.RATLS_BENCH_PROFILE_DIR,
    conf: process.env.OPENSSL_CONF,
  };
  if (!nodeTickets) process.env.OPENSSL_CONF = NO_TICKETS_CONF;
  // Cluster workers inherit the environment: every gateway process is profiled, no other child.
  if (profileDir) {
    process.env.NODE_OPTIONS = `${saved.opts ?? ''} --import ${PROFILE_PRELOAD}`.trim();
    process.env.RATLS_BENCH_PROFILE_DIR = profileDir;
  }
  try {
    return await spawnGateway(configPath);
  } finally {
    for (const [k, v] of [
      ['NODE_OPTIONS', saved.opts],
      ['RATLS_BENCH_PROFILE_DIR', saved.dir],
      ['OPENSSL_CONF', saved.conf],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

export async function run(opts: BenchOptions = optionsFromArgv(process.argv)): Promise<void> {
  const uploadBytes = Number(process.env.RATLS_BENCH_MIB ?? (opts.quick ? 32 : 128)) * 1024 * 1024;
  const rounds = opts.quick ? 3 : 5;
  const handshakeN = opts.quick ? 150 : 400;
  const only = process.env.RATLS_BENCH_GW_ONLY;
  if (only !== undefined && only !== 'handshakes' && only !== 'bulk')
    throw new Error('RATLS_BENCH_GW_ONLY takes handshakes or bulk');
  const doBulk = only !== 'handshakes';
  const doHandshakes = only !== 'bulk';
  const dir = tempDir('ratls-gw-bench-');
  const children: ChildProcess[] = [];
  const haproxies: HaproxyProcess[] = [];
  const gateways: GatewayProcess[] = [];
  let nodeProxy: ChildProcess | undefined;
  try {
    await initSimulation(join(dir, 'sim'));
    const mr = 'ab'.repeat(32);
    const clientFiles = await simCert(join(dir, 'sim'), join(dir, 'client'), { mrEnclave: mr });
    const server = await simCert(join(dir, 'sim'), join(dir, 'server'), { mrEnclave: mr, subject: 'gateway' });

    const backends = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', fileURLToPath(import.meta.url)],
      {
        env: {
          ...process.env,
          RATLS_BENCH_ROLE: 'backends',
          RATLS_BENCH_CERT: server.cert,
          RATLS_BENCH_KEY: server.key,
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(backends);
    const [directTls, directHttps, plainSink, plainHttp] = await new Promise<number[]>((r, j) => {
      let out = '';
      backends.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /ports (\d+) (\d+) (\d+) (\d+)/.exec(out);
        if (m) r(m.slice(1).map(Number));
      });
      backends.once('exit', (code) => j(new Error(`backend process exited ${code}`)));
    });

    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: bench\n    sgx: { mrEnclave: "${mr}" }\n`,
    );
    const hv = haproxyVersion();
    if (hv === undefined) console.log('HAProxy not installed (/usr/sbin/haproxy): HAProxy rows skipped');
    const peers: Peer[] = [];
    /** Pairs compared per round: gateway with N workers against HAProxy nbthread N. */
    const pairs: { n: number; gw: string; ha: string | undefined }[] = [];
    for (const n of opts.workers) {
      const gw = await startGateway(
        writeFile(dir, `gateway-${n}.yaml`, gatewayConfig(n, plainSink as number, plainHttp as number)),
        opts.profileDir,
      );
      gateways.push(gw);
      children.push(gw.child);
      const primary = gw.child.pid as number;
      // With workers > 1 the primary only accepts and hands off; the workers terminate TLS.
      const pids = n > 1 ? [primary, ...childPids(primary)] : [primary];
      const label = `gateway workers ${n}`;
      peers.push({ label, port: gw.addresses.tcp as number, pids, cores: n, ...(n > 1 ? { primary } : {}) });
      let ha: string | undefined;
      if (hv !== undefined) {
        const h = await startHaproxy({
          dir,
          name: `haproxy-${n}`,
          port: await freePort(),
          backendPort: plainSink as number,
          cert: server.cert,
          key: server.key,
          clientCa: clientFiles.cert,
          nbthread: n,
        });
        haproxies.push(h);
        children.push(h.child);
        ha = `HAProxy nbthread ${n}`;
        peers.push({ label: ha, port: h.port, pids: [h.child.pid as number], cores: n });
      }
      pairs.push({ n, gw: label, ha });
    }
    nodeProxy = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', fileURLToPath(import.meta.url)],
      {
        env: {
          ...process.env,
          ...ticketEnv(),
          RATLS_BENCH_ROLE: 'node-proxy',
          RATLS_BENCH_CERT: server.cert,
          RATLS_BENCH_KEY: server.key,
          RATLS_BENCH_CLIENT_CA: clientFiles.cert,
          RATLS_BENCH_BACKEND: String(plainSink),
          // Profiled alike with the gateway, so the two profiles compare (the sampler's overhead included).
          ...(opts.profileDir
            ? {
                NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${PROFILE_PRELOAD}`.trim(),
                RATLS_BENCH_PROFILE_DIR: opts.profileDir,
                RATLS_BENCH_PROFILE_NAME: 'node-proxy',
              }
            : {}),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(nodeProxy);
    const nodeProxyPort = await new Promise<number>((r, j) => {
      let out = '';
      nodeProxy?.stdout?.on('data', (c: Buffer) => {
        out += c.toString();
        const m = /port (\d+)/.exec(out);
        if (m) r(Number(m[1]));
      });
      nodeProxy?.once('exit', (code) => j(new Error(`node proxy process exited ${code}`)));
    });
    peers.push({ label: 'Node TLS proxy', port: nodeProxyPort, pids: [nodeProxy.pid as number], cores: 1 });
    peers.push({ label: 'direct TLS sink', port: directTls as number, pids: [], cores: 1 });
    const webPort = gateways[0]?.addresses.web as number;

    // One-worker (one-thread) terminators on core 0; the load generator (this process) and the
    // backends on core 1. Two or more workers or threads run on both cores, beside the load
    // generator, alike for the gateway and HAProxy.
    const ncpu = availableParallelism();
    const canPin = haveBinary('taskset') && ncpu >= 2;
    let pinned = false;
    if (canPin) {
      pinned = pin(process.pid, '1') && pin(backends.pid, '1');
      for (const p of peers) for (const pid of p.pids) pin(pid, p.cores > 1 ? `0-${ncpu - 1}` : '0');
    }
    console.log(
      `${hv ?? 'no HAProxy'}; TLS 1.3 ${BENCH_CIPHERSUITE}, no resumption (${nodeTickets ? 'Node terminators still issue session tickets: RATLS_BENCH_TLS_TICKETS=1' : 'no session tickets from any terminator'}); ${pinned ? 'one-worker terminators on core 0, load generator + backends on core 1; multi-worker ones on all cores (taskset)' : 'not pinned (taskset or a second core missing)'}`,
    );

    const client: Client = { cert: readFileSync(clientFiles.cert), key: readFileSync(clientFiles.key) };
    const mib = uploadBytes / 2 ** 20;
    for (const p of peers) await handshakes(p.port, client, 50); // warm JIT and caches on every path (every worker)
    const up = new Rounds<string>();
    const hs = new Rounds<string>();
    for (let r = 0; r < rounds; r++) {
      // Interleaved so drift (thermal, other load) hits every peer alike; the order rotates per
      // round so no peer always runs right after the same neighbour.
      const order = peers.map((_, i) => peers[(i + r) % peers.length] as Peer);
      for (const p of order) {
        const pids = p.pids.length > 0 ? p.pids : [backends.pid as number];
        if (doBulk) {
          const c0 = cpuSecondsOfAll(pids);
          up.add(p.label, await upload(p.port, client, uploadBytes));
          up.add(`${p.label} cpu`, ((cpuSecondsOfAll(pids) - c0) * 1000) / mib);
        }
        if (doHandshakes) {
          const c0 = cpuSecondsOfAll(pids);
          const p0 = cpuSecondsOf(p.primary);
          hs.add(p.label, await handshakes(p.port, client, handshakeN));
          hs.add(`${p.label} cpu`, ((cpuSecondsOfAll(pids) - c0) * 1000) / handshakeN);
          if (p.primary !== undefined)
            hs.add(`${p.label} primary cpu`, ((cpuSecondsOf(p.primary) - p0) * 1000) / handshakeN);
        }
      }
    }
    const note = (p: Peer) =>
      p.pids.length === 0 ? ' (sink process)' : p.pids.length > 1 ? ` (${p.pids.length} processes)` : '';
    if (doBulk) {
      console.log(`bulk upload, ${mib} MiB x ${rounds} rounds (median MB/s [range]; terminator CPU ms per MiB):`);
      for (const p of peers) {
        console.log(
          `  ${p.label.padEnd(22)} ${up.median(p.label).toFixed(0).padStart(5)} MB/s ${up.spread(p.label, 0)}  cpu ${up.median(`${p.label} cpu`).toFixed(2)} ms/MiB${note(p)}`,
        );
      }
      for (const { n, gw, ha } of pairs) {
        if (!ha) continue;
        const cpu = up.ratio(`${ha} cpu`, `${gw} cpu`);
        console.log(
          `  ${gw} / ${ha}: ${fmtRatio(up.ratio(gw, ha))} by MB/s, ${fmtRatio(cpu)} by terminator CPU${n === 1 ? ' (goal >= 0.9)' : ''}`,
        );
      }
      const gw1 = pairs.find((pr) => pr.n === 1)?.gw;
      if (gw1)
        console.log(`  ${gw1} CPU over the Node TLS proxy: ${addedCpu(up, gw1, 2)} ms per MiB (what ratls adds)`);
    }
    if (doHandshakes) {
      console.log(
        `handshakes (mutual TLS, attestation on at the gateway), ${handshakeN} x ${rounds} rounds, concurrency ${HANDSHAKE_CONCURRENCY} (median per second [range]; terminator CPU ms per handshake):`,
      );
      for (const p of peers) {
        console.log(
          `  ${p.label.padEnd(22)} ${hs.median(p.label).toFixed(0).padStart(5)}/s ${hs.spread(p.label, 0)}  cpu ${hs.median(`${p.label} cpu`).toFixed(3)} ms${note(p)}${p.primary !== undefined ? `, of it the primary ${hs.median(`${p.label} primary cpu`).toFixed(3)} ms` : ''}`,
        );
      }
      for (const { n, gw, ha } of pairs) {
        if (!ha) continue;
        const cpu = hs.ratio(`${ha} cpu`, `${gw} cpu`);
        console.log(
          `  ${gw} / ${ha}: ${fmtRatio(hs.ratio(gw, ha))} per second, ${fmtRatio(cpu)} by terminator CPU${n === 1 ? ' (goal >= 0.9)' : ''}`,
        );
      }
      const gw1 = pairs.find((pr) => pr.n === 1)?.gw;
      if (gw1)
        console.log(`  ${gw1} CPU over the Node TLS proxy: ${addedCpu(hs, gw1, 3)} ms per handshake (what ratls adds)`);
    }
    // Scaling, per round: the figure the 4- and 16-core projection in docs/performance.md reads.
    const base = pairs[0];
    for (const pr of pairs.slice(1)) {
      if (!base) break;
      const line = (label: string, r: Rounds<string>, a: string, b: string) => `  ${label}: ${fmtRatio(r.ratio(a, b))}`;
      console.log(`scaling ${pr.n} vs ${base.n} workers (threads), per round:`);
      if (doHandshakes) console.log(line(`gateway handshakes/s`, hs, pr.gw, base.gw));
      if (doBulk) console.log(line(`gateway upload MB/s`, up, pr.gw, base.gw));
      if (pr.ha && base.ha) {
        if (doHandshakes) console.log(line(`HAProxy handshakes/s`, hs, pr.ha, base.ha));
        if (doBulk) console.log(line(`HAProxy upload MB/s`, up, pr.ha, base.ha));
      }
    }

    if (only === undefined) {
      const warmup = opts.quick ? 100 : 300;
      const requests = opts.quick ? 1000 : 3000;
      const gwAgent = new https.Agent({ keepAlive: true, maxSockets: 1, cert: client.cert, key: client.key });
      const directAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      const lg = await latencies(gwAgent, webPort, warmup, requests);
      const ld = await latencies(directAgent, directHttps as number, warmup, requests);
      gwAgent.destroy();
      directAgent.destroy();
      const pct = percentile;
      console.log(
        `small HTTP request, warm connection (${requests}, ${peers[0]?.label}): direct p50 ${pct(ld, 50).toFixed(3)} ms p99 ${pct(ld, 99).toFixed(3)} ms; via gateway p50 ${pct(lg, 50).toFixed(3)} ms p99 ${pct(lg, 99).toFixed(3)} ms; added p50 ${(pct(lg, 50) - pct(ld, 50)).toFixed(3)} ms p99 ${(pct(lg, 99) - pct(ld, 99)).toFixed(3)} ms`,
      );
    }
  } finally {
    for (const gw of gateways) await gw.stop('SIGTERM');
    // SIGTERM first: a profiled Node TLS proxy writes its profile on exit (bounded wait).
    if (nodeProxy && nodeProxy.exitCode === null && nodeProxy.signalCode === null) {
      const exited = new Promise((r) => nodeProxy?.once('exit', r));
      nodeProxy.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    }
    for (const h of haproxies) await h.stop();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // Unpin this process again: later suites in the same run may use both cores.
    if (haveBinary('taskset')) pin(process.pid, `0-${availableParallelism() - 1}`);
    rmSync(dir, { recursive: true, force: true });
    if (opts.profileDir) console.log(`CPU profiles of the gateway processes: ${opts.profileDir}`);
  }
}

if (process.env.RATLS_BENCH_ROLE === 'backends') {
  await backendRole();
} else if (process.env.RATLS_BENCH_ROLE === 'node-proxy') {
  await nodeProxyRole();
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
