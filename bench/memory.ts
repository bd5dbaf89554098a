/**
 * Memory per connection on the server side: V8 heap used plus external memory (ArrayBuffers and
 * native TLS state reported to V8), after a forced GC, in a child process run with --expose-gc.
 * Two servers in that child: plain Node mutual TLS and the attested `createServer` (pre-TLS
 * acceptor, RA-TLS certificate, verification on). Measured for K idle accepted connections
 * (handshake done, attestation accepted) and K in-flight handshakes (a real ClientHello sent, the
 * client never answering the server's flight). RSS is not used: it moves in allocator pages.
 * Standalone: node --conditions=development --import tsx bench/memory.ts [--quick]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { type BenchOptions, optionsFromArgv } from './stats.js';

const MR = '11'.repeat(32);

interface Ready {
  plain: number;
  attested: number;
  cert: string;
  key: string;
  serverCert: string;
}

/** Child: both servers, memory on request. */
async function serverRole(): Promise<void> {
  const { createAttestedCredentials } = await import('@ratls/attester');
  const { initSimulation, SimulatedQuoteProvider } = await import('@ratls/sim');
  const v = await import('@ratls/verifier');
  const dir = await mkdtemp(join(tmpdir(), 'ratls-bench-mem-'));
  const at = Date.now();
  const sim = await initSimulation(dir, { at: new Date(at) });
  const anchor = v.trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'));
  const collateral = v.collateralFromJson(await readFile(join(dir, 'collateral.json'), 'utf8'));
  const policy = v.parsePolicy(
    `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: app\n    sgx: { mrEnclave: [ "${MR}" ] }\n`,
  );
  const provider = new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave: MR });
  const creds = async () => {
    const c = await createAttestedCredentials({ provider, autoRenew: false });
    c.close();
    return { key: c.keyPem, cert: c.cert };
  };
  const server = await creds();
  const client = await creds();
  const verifier = v.createPeerVerifier({
    policy,
    trustAnchors: [anchor],
    collateralSource: { getCollateral: async () => collateral },
  });
  const held: net.Socket[] = [];
  const keep = (s: net.Socket) => {
    held.push(s);
    s.on('error', () => undefined);
  };
  const plain = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: true, ca: [client.cert] }, keep);
  // K pending handshakes from one source exceed the default per-source bound (32): raised here only.
  const limit = Number(process.env.RATLS_BENCH_MEM_K ?? 300) + 16;
  const attested = v.createServer(
    { ...server, attestation: { verifier, maxPendingPerSource: limit, maxConcurrentHandshakes: limit } },
    keep,
  );
  const port = (s: net.Server) =>
    new Promise<number>((r) => s.listen(0, '127.0.0.1', () => r((s.address() as net.AddressInfo).port)));
  const certPath = join(dir, 'client.crt');
  await writeFile(certPath, client.cert);
  await writeFile(join(dir, 'client.key'), client.key);
  const ready: Ready = {
    plain: await port(plain),
    attested: await port(attested),
    cert: certPath,
    key: join(dir, 'client.key'),
    serverCert: server.cert,
  };
  process.on('message', (m: string) => {
    if (m === 'mem') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error('memory bench child needs --expose-gc');
      gc();
      gc();
      const u = process.memoryUsage();
      process.send?.({ heap: u.heapUsed, external: u.external });
    } else if (m === 'drop') {
      for (const s of held.splice(0)) s.destroy();
      process.send?.('dropped');
    } else if (m === 'exit') {
      plain.close();
      attested.close();
      void rm(dir, { recursive: true, force: true }).then(() => process.exit(0));
    }
  });
  process.send?.(ready);
}

function ask<T>(child: ChildProcess, m: string): Promise<T> {
  return new Promise((r) => {
    child.once('message', (x) => r(x as T));
    child.send(m);
  });
}

/** The ClientHello a Node client sends, captured through a transport that never answers. */
async function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve) => {
    const transport = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        resolve(Buffer.from(chunk));
        cb();
      },
    });
    const s = tls.connect({ socket: transport as unknown as net.Socket, rejectUnauthorized: false });
    s.on('error', () => undefined);
    setTimeout(() => s.destroy(), 100);
  });
}

export async function run(opts: BenchOptions = optionsFromArgv(process.argv)): Promise<void> {
  const K = opts.quick ? 100 : 300;
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ['--expose-gc', '--conditions=development', '--import', 'tsx'],
    env: { ...process.env, RATLS_BENCH_ROLE: 'memory-server', RATLS_BENCH_MEM_K: String(K) },
  });
  const sockets: net.Socket[] = [];
  try {
    const ready = await new Promise<Ready>((r) => child.once('message', (m) => r(m as Ready)));
    const cert = await readFile(ready.cert);
    const key = await readFile(ready.key);
    const hello = await captureClientHello();
    type Mem = { heap: number; external: number };
    const measure = async (label: string, port: number, open: (port: number) => Promise<net.Socket>) => {
      const before = await ask<Mem>(child, 'mem');
      for (let i = 0; i < K; i++) sockets.push(await open(port));
      await new Promise((r) => setTimeout(r, 200));
      const after = await ask<Mem>(child, 'mem');
      const kib = (b: number) => (b / K / 1024).toFixed(1);
      console.log(
        `  ${label.padEnd(44)} heap ${kib(after.heap - before.heap).padStart(6)} KiB, external ${kib(after.external - before.external).padStart(6)} KiB per connection`,
      );
      for (const s of sockets.splice(0)) s.destroy();
      await ask(child, 'drop');
    };
    const idle = (p: number) =>
      new Promise<net.Socket>((r, j) => {
        const s = tls.connect({ host: '127.0.0.1', port: p, cert, key, rejectUnauthorized: false });
        s.once('secureConnect', () => setTimeout(() => r(s), 5)); // let the server's decision land
        s.once('error', j);
      });
    const inFlight = (p: number) =>
      new Promise<net.Socket>((r, j) => {
        const s = net.connect(p, '127.0.0.1', () => {
          s.write(hello);
          s.once('data', () => r(s)); // the server's flight arrived: its handshake state exists
        });
        s.once('error', j);
      });
    console.log(`memory after forced GC, ${K} connections each (server process; heap used, external):`);
    for (let round = 0; round < 2; round++) {
      // The first round warms code and caches; the second is the one to quote.
      if (round === 1) console.log(' (second round, warm)');
      await measure('plain Node mTLS, idle accepted', ready.plain, idle);
      await measure('attested createServer, idle accepted', ready.attested, idle);
      await measure('plain Node mTLS, in-flight handshake', ready.plain, inFlight);
      await measure('attested createServer, in-flight handshake', ready.attested, inFlight);
    }
  } finally {
    for (const s of sockets) s.destroy();
    if (child.connected) child.send('exit');
    await new Promise((r) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        r(undefined);
      }, 5_000);
      child.once('exit', () => {
        clearTimeout(t);
        r(undefined);
      });
    });
  }
}

if (process.env.RATLS_BENCH_ROLE === 'memory-server') await serverRole();
else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
