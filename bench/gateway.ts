/**
 * Gateway benchmark: the real gateway process (simulated RA-TLS client certificate, real
 * verification) against a direct TLS connection to the same kind of backend.
 * - Bulk upload throughput: client → gateway (TLS, tcp forward) → plain TCP sink, versus
 *   client → TLS sink. Both TLS terminators run in their own process. Goal: ≥ 90 %.
 * - Small HTTP requests on a warm keep-alive connection: client → gateway (http forward) → HTTP
 *   backend, versus client → HTTPS server directly. Added latency at p50 and p99.
 * Standalone: node --conditions=development --import tsx bench/gateway.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { initSimulation } from '@ratls/sim';
import { simCert, spawnGateway, tempDir, writeFile } from '@ratls/test-support/gateway-helpers';

const UPLOAD_BYTES = Number(process.env.RATLS_BENCH_MIB ?? 128) * 1024 * 1024;
const RUNS = 5;
const WARMUP = 300;
const REQUESTS = 3000;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

/** User + system CPU seconds a process has used so far (Linux /proc; 0 elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    // Fields 14 and 15 (utime, stime) in clock ticks; after the ") " split they are at 11 and 12.
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
};

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

async function upload(connect: () => tls.TLSSocket): Promise<number> {
  const s = connect();
  await new Promise<void>((r, j) => {
    s.once('secureConnect', () => r());
    s.once('error', j);
  });
  const t0 = performance.now();
  const len = Buffer.alloc(8);
  len.writeBigUInt64BE(BigInt(UPLOAD_BYTES));
  s.write(len);
  const done = new Promise<void>((r, j) => {
    s.once('data', () => r());
    s.once('error', j);
  });
  for (let sent = 0; sent < UPLOAD_BYTES; sent += CHUNK.length) {
    if (!s.write(CHUNK)) await new Promise((r) => s.once('drain', r));
  }
  await done;
  const secs = (performance.now() - t0) / 1000;
  s.destroy();
  return UPLOAD_BYTES / secs / 1e6;
}

async function latencies(agent: https.Agent, port: number): Promise<number[]> {
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
  for (let i = 0; i < WARMUP; i++) await one();
  const out: number[] = [];
  for (let i = 0; i < REQUESTS; i++) out.push(await one());
  return out;
}

export async function run(): Promise<void> {
  const dir = tempDir('ratls-gw-bench-');
  const children: ChildProcess[] = [];
  let gw: Awaited<ReturnType<typeof spawnGateway>> | undefined;
  try {
    await initSimulation(join(dir, 'sim'));
    const mr = 'ab'.repeat(32);
    const client = await simCert(join(dir, 'sim'), join(dir, 'client'), { mrEnclave: mr });
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

    const cert = readFileSync(client.cert);
    const key = readFileSync(client.key);
    const to = (port: number) => () => tls.connect({ host: '127.0.0.1', port, cert, key, rejectUnauthorized: false });
    const viaGw: number[] = [];
    const viaDirect: number[] = [];
    const cpuGw: number[] = [];
    const cpuGwOnly: number[] = [];
    const cpuDirect: number[] = [];
    const gwPid = gw.child.pid;
    const bePid = backends.pid;
    const mib = UPLOAD_BYTES / 2 ** 20;
    for (let i = 0; i < RUNS; i++) {
      // Interleaved so drift (thermal, other load) hits both sides alike.
      let c0 = cpuSeconds(bePid);
      viaDirect.push(await upload(to(directTls as number)));
      cpuDirect.push(((cpuSeconds(bePid) - c0) * 1000) / mib);
      c0 = cpuSeconds(bePid);
      const g0 = cpuSeconds(gwPid);
      viaGw.push(await upload(to(gw.addresses.tcp as number)));
      const gwMs = ((cpuSeconds(gwPid) - g0) * 1000) / mib;
      cpuGwOnly.push(gwMs);
      cpuGw.push(gwMs + ((cpuSeconds(bePid) - c0) * 1000) / mib);
    }
    const g = median(viaGw);
    const d = median(viaDirect);
    console.log(
      `upload ${mib} MiB x${RUNS}: direct TLS ${d.toFixed(0)} MB/s, via gateway ${g.toFixed(0)} MB/s, ratio ${((100 * g) / d).toFixed(1)}% (goal >= 90%)`,
    );
    // Wall-clock throughput depends on free cores; CPU per MiB on the receiving side does not.
    console.log(
      `receiver CPU per MiB: direct TLS sink ${median(cpuDirect).toFixed(2)} ms, gateway + plain sink ${median(cpuGw).toFixed(2)} ms (gateway alone ${median(cpuGwOnly).toFixed(2)} ms)`,
    );

    const gwAgent = new https.Agent({ keepAlive: true, maxSockets: 1, cert, key });
    const directAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    const lg = await latencies(gwAgent, gw.addresses.web as number);
    const ld = await latencies(directAgent, directHttps as number);
    gwAgent.destroy();
    directAgent.destroy();
    console.log(
      `small HTTP request, warm connection (${REQUESTS}): direct p50 ${pct(ld, 50).toFixed(3)} ms p99 ${pct(ld, 99).toFixed(3)} ms; via gateway p50 ${pct(lg, 50).toFixed(3)} ms p99 ${pct(lg, 99).toFixed(3)} ms; added p50 ${(pct(lg, 50) - pct(ld, 50)).toFixed(3)} ms p99 ${(pct(lg, 99) - pct(ld, 99)).toFixed(3)} ms`,
    );
  } finally {
    await gw?.stop('SIGTERM');
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.RATLS_BENCH_ROLE === 'backends') {
  await backendRole();
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await run();
}
