/**
 * Gateway benchmark: the real gateway process (simulated RA-TLS client certificate, real
 * attestation verification) against its peers, interleaved round by round, medians with the
 * range of round values:
 * - Bulk upload throughput: client → terminator (TLS) → plain TCP sink, for the gateway, HAProxy
 *   (nbthread = workers, and nbthread 2 for reference) and a direct TLS sink. Goal: gateway ≥ 0.9×
 *   HAProxy. Terminator CPU per MiB beside it.
 * - Handshakes per second: full mutual TLS 1.3 handshake, one round trip through the terminator
 *   to the sink, close; no resumption. Goal: gateway ≥ 0.9× HAProxy. Terminator CPU per handshake.
 * - Small HTTP requests on a warm keep-alive connection: gateway (http forward) versus direct HTTPS.
 * Fairness: both terminators load the same certificate and key and pin the same client
 * certificate; the client offers only TLS 1.3 with one suite (BENCH_CIPHERSUITE) and never
 * resumes; HAProxy runs without tickets or session cache. Where `taskset` and two cores exist, the
 * terminator under test runs on core 0 and this process (the load generator) with the backends on
 * core 1. The gateway is one process today (`--workers` > 1 is reported as not yet supported).
 * Standalone: node --conditions=development --import tsx bench/gateway.ts [--quick] [--workers N]
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
import { type BenchOptions, cpuSecondsOf, fmtRatio, optionsFromArgv, percentile, Rounds } from './stats.js';

const CHUNK = Buffer.alloc(64 * 1024, 0x61);
const HANDSHAKE_CONCURRENCY = 8;

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

interface Peer {
  label: string;
  port: number;
  /** The terminator's pid, for its CPU time; undefined for the direct sink (counted in backends). */
  pid: number | undefined;
}

export async function run(opts: BenchOptions = optionsFromArgv(process.argv)): Promise<void> {
  const uploadBytes = Number(process.env.RATLS_BENCH_MIB ?? (opts.quick ? 32 : 128)) * 1024 * 1024;
  const rounds = opts.quick ? 3 : 5;
  const handshakeN = opts.quick ? 150 : 400;
  const dir = tempDir('ratls-gw-bench-');
  const children: ChildProcess[] = [];
  const haproxies: HaproxyProcess[] = [];
  let gw: Awaited<ReturnType<typeof spawnGateway>> | undefined;
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
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust: { anchors: [./sim/root.pem], collateral: ./sim/collateral.json }
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
listeners:
  - { name: tcp, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { tcp: "127.0.0.1:${plainSink}" } }
  - { name: web, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${plainHttp}" } }
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'));
    children.push(gw.child);
    if (opts.workers > 1)
      console.log(`(gateway: one process today; --workers ${opts.workers} applies to HAProxy only)`);

    const peers: Peer[] = [{ label: 'gateway (1 process)', port: gw.addresses.tcp as number, pid: gw.child.pid }];
    const hv = haproxyVersion();
    if (hv === undefined) {
      console.log('HAProxy not installed (/usr/sbin/haproxy): HAProxy rows skipped');
    } else {
      const threads = [...new Set([opts.workers, 2])];
      for (const nbthread of threads) {
        const h = await startHaproxy({
          dir,
          name: `haproxy-${nbthread}`,
          port: await freePort(),
          backendPort: plainSink as number,
          cert: server.cert,
          key: server.key,
          clientCa: clientFiles.cert,
          nbthread,
        });
        haproxies.push(h);
        children.push(h.child);
        peers.push({ label: `HAProxy nbthread ${nbthread}`, port: h.port, pid: h.child.pid });
      }
    }
    peers.push({ label: 'direct TLS sink', port: directTls as number, pid: undefined });

    // Terminators under test on core 0; the load generator (this process) and backends on core 1.
    // HAProxy nbthread 2 is a reference for "uses both cores": it is left on both.
    const canPin = haveBinary('taskset') && availableParallelism() >= 2;
    let pinned = false;
    if (canPin) {
      pinned = pin(process.pid, '1') && pin(backends.pid, '1');
      for (const [i, h] of haproxies.entries()) pin(h.child.pid, peers[i + 1]?.label.endsWith(' 2') ? '0,1' : '0');
      pin(gw.child.pid, '0');
    }
    console.log(
      `${hv ?? 'no HAProxy'}; TLS 1.3 ${BENCH_CIPHERSUITE}, no resumption; ${pinned ? 'terminator on core 0, load generator + backends on core 1 (taskset)' : 'not pinned (taskset or a second core missing)'}`,
    );

    const client: Client = { cert: readFileSync(clientFiles.cert), key: readFileSync(clientFiles.key) };
    const mib = uploadBytes / 2 ** 20;
    for (const p of peers) await handshakes(p.port, client, 50); // warm JIT and caches on every path
    const up = new Rounds<string>();
    const hs = new Rounds<string>();
    for (let r = 0; r < rounds; r++) {
      // Interleaved so drift (thermal, other load) hits every peer alike.
      for (const p of peers) {
        const pid = p.pid ?? backends.pid;
        let c0 = cpuSecondsOf(pid);
        up.add(p.label, await upload(p.port, client, uploadBytes));
        up.add(`${p.label} cpu`, ((cpuSecondsOf(pid) - c0) * 1000) / mib);
        c0 = cpuSecondsOf(pid);
        hs.add(p.label, await handshakes(p.port, client, handshakeN));
        hs.add(`${p.label} cpu`, ((cpuSecondsOf(pid) - c0) * 1000) / handshakeN);
      }
    }
    const gwL = peers[0]?.label as string;
    const refs = peers.slice(1);
    console.log(`bulk upload, ${mib} MiB x ${rounds} rounds (median MB/s [range]; terminator CPU ms per MiB):`);
    for (const p of peers) {
      console.log(
        `  ${p.label.padEnd(22)} ${up.median(p.label).toFixed(0).padStart(5)} MB/s ${up.spread(p.label, 0)}  cpu ${up.median(`${p.label} cpu`).toFixed(2)} ms/MiB${p.pid === undefined ? ' (sink process)' : ''}`,
      );
    }
    for (const p of refs) {
      console.log(
        `  gateway / ${p.label}: ${fmtRatio(up.ratio(gwL, p.label))}${p.label.startsWith('HAProxy nbthread 1') ? ' (goal >= 0.9)' : ''}`,
      );
    }
    console.log(
      `handshakes (mutual TLS, attestation on at the gateway), ${handshakeN} x ${rounds} rounds, concurrency ${HANDSHAKE_CONCURRENCY} (median per second [range]; terminator CPU ms per handshake):`,
    );
    for (const p of peers) {
      console.log(
        `  ${p.label.padEnd(22)} ${hs.median(p.label).toFixed(0).padStart(5)}/s ${hs.spread(p.label, 0)}  cpu ${hs.median(`${p.label} cpu`).toFixed(3)} ms${p.pid === undefined ? ' (sink process)' : ''}`,
      );
    }
    for (const p of refs) {
      const cpu = hs.ratio(`${p.label} cpu`, `${gwL} cpu`);
      console.log(
        `  gateway / ${p.label}: ${fmtRatio(hs.ratio(gwL, p.label))} per second, ${fmtRatio(cpu)} by terminator CPU${p.label.startsWith('HAProxy nbthread 1') ? ' (goal >= 0.9)' : ''}`,
      );
    }

    const warmup = opts.quick ? 100 : 300;
    const requests = opts.quick ? 1000 : 3000;
    const gwAgent = new https.Agent({ keepAlive: true, maxSockets: 1, cert: client.cert, key: client.key });
    const directAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const lg = await latencies(gwAgent, gw.addresses.web as number, warmup, requests);
    const ld = await latencies(directAgent, directHttps as number, warmup, requests);
    gwAgent.destroy();
    directAgent.destroy();
    const pct = percentile;
    console.log(
      `small HTTP request, warm connection (${requests}): direct p50 ${pct(ld, 50).toFixed(3)} ms p99 ${pct(ld, 99).toFixed(3)} ms; via gateway p50 ${pct(lg, 50).toFixed(3)} ms p99 ${pct(lg, 99).toFixed(3)} ms; added p50 ${(pct(lg, 50) - pct(ld, 50)).toFixed(3)} ms p99 ${(pct(lg, 99) - pct(ld, 99)).toFixed(3)} ms`,
    );
  } finally {
    await gw?.stop('SIGTERM');
    for (const h of haproxies) await h.stop();
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    // Unpin this process again: later suites in the same run may use both cores.
    if (haveBinary('taskset')) pin(process.pid, `0-${availableParallelism() - 1}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.RATLS_BENCH_ROLE === 'backends') {
  await backendRole();
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
