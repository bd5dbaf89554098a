/**
 * Channel mode against certificate mode against plain mTLS, side by side, one process, 127.0.0.1:
 *   plain        Node mTLS, both sides pin the other's self-signed certificate
 *   certificate  attested mutual RA-TLS, reused certificates (warm result caches)
 *   channel      the same, plus the channel exchange: a fresh simulated quote per connection from
 *                each side (one extra round trip after the handshake, two quotes, two appraisals)
 * Reports handshakes/s (sequential, so p50/p99 are per-connection latencies) and the attester's
 * cost per simulated quote. Real hardware adds its quote time (TDX ~39 ms per quote, serialized).
 * Standalone: node --conditions=development --import tsx bench/channel.ts [--quick]
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { createAttestedCredentials, createChannelAttester } from '@ratls/attester';
import { initSimulation, SimulatedQuoteProvider } from '@ratls/sim';
import { connectAttested, createPeerVerifier, createServer, parsePolicy, trustAnchorFrom } from '@ratls/verifier';
import { type BenchOptions, defaultOptions, fmtMs, median, optionsFromArgv, percentile } from './stats.js';

const MR = '11'.repeat(32);

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function timeEach(n: number, one: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await one();
    out.push(performance.now() - t0);
  }
  return out;
}

function line(name: string, ms: number[]): string {
  const total = ms.reduce((a, b) => a + b, 0);
  return `${name.padEnd(12)} ${(ms.length / (total / 1000)).toFixed(0).padStart(6)} handshakes/s  p50 ${fmtMs(median(ms))} ms  p99 ${fmtMs(percentile(ms, 99))} ms`;
}

export async function run(opts: BenchOptions = defaultOptions): Promise<void> {
  const n = opts.quick ? 30 : 300;
  const dir = await mkdtemp(join(tmpdir(), 'ratls-bench-channel-'));
  const at = Date.now();
  try {
    const sim = await initSimulation(dir, { at: new Date(at), collateralDays: 30 });
    const anchor = trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'));
    const collateral = await readFile(join(dir, 'collateral.json'), 'utf8');
    const provider = new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave: MR });
    const mk = async () => {
      const c = await createAttestedCredentials({ provider, autoRenew: false });
      const out = { key: c.keyPem, cert: c.cert };
      c.close();
      return out;
    };
    const server = await mk();
    const client = await mk();
    const policy = (freshness: string) =>
      parsePolicy(
        `version: 1\ndefaults: { simulated: true, freshness: ${freshness} }\nidentities:\n  - name: app\n    sgx: { mrEnclave: [ "${MR}" ] }\n`,
        { source: `bench-${freshness}` },
      );
    const verifierFor = (freshness: string) =>
      createPeerVerifier({ policy: policy(freshness), trustAnchors: [anchor], collateral });
    const attester = () =>
      createChannelAttester({ provider, perSourceBurst: 1e9, perSourcePerSecond: 1e9, maxQueue: 1e6 });

    const plain = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: false }, (s) => s.end());
    const plainPort = await listen(plain);
    const servers: Record<string, { port: number; close(): void }> = {};
    for (const mode of ['certificate', 'channel'] as const) {
      const v = verifierFor(mode);
      const s = createServer(
        {
          ...server,
          attestation: { verifier: v, ...(mode === 'channel' ? { channel: { attester: attester() } } : {}) },
        },
        (sock) => sock.end(),
      );
      servers[mode] = { port: await listen(s), close: () => s.close() };
    }
    const clientVerifiers = { certificate: verifierFor('certificate'), channel: verifierFor('channel') };
    const clientAttester = attester();
    const plainOnce = async () => {
      const s = tls.connect({ host: '127.0.0.1', port: plainPort, ...client, rejectUnauthorized: false });
      await once(s, 'secureConnect');
      s.resume();
      await once(s, 'close');
    };
    const attestedOnce = (mode: 'certificate' | 'channel') => async () => {
      const s = await connectAttested({
        host: '127.0.0.1',
        port: servers[mode]?.port ?? 0,
        ...client,
        attestation: {
          verifier: clientVerifiers[mode],
          ...(mode === 'channel' ? { channel: { attester: clientAttester } } : {}),
        },
      });
      s.resume();
      await once(s, 'close');
    };
    // Warm every path once (result caches, collateral), then interleave.
    await plainOnce();
    await attestedOnce('certificate')();
    await attestedOnce('channel')();
    const results = { plain: [] as number[], certificate: [] as number[], channel: [] as number[] };
    const rounds = opts.quick ? 1 : 3;
    for (let r = 0; r < rounds; r++) {
      results.plain.push(...(await timeEach(n, plainOnce)));
      results.certificate.push(...(await timeEach(n, attestedOnce('certificate'))));
      results.channel.push(...(await timeEach(n, attestedOnce('channel'))));
    }
    console.log(line('plain mTLS', results.plain));
    console.log(line('certificate', results.certificate));
    console.log(line('channel', results.channel));
    console.log(
      `channel / certificate p50: ${(median(results.channel) / median(results.certificate)).toFixed(2)}x (the extra round trip and two fresh quotes + appraisals)`,
    );
    const rd = new Uint8Array(64);
    const quotes = await timeEach(opts.quick ? 50 : 500, async () => {
      await provider.getEvidence(rd);
    });
    console.log(
      `attester cost per simulated quote: p50 ${fmtMs(median(quotes))} ms (real hardware: TDX ~39 ms per quote on a cloud VM, serialized)`,
    );
    plain.close();
    for (const s of Object.values(servers)) s.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run(optionsFromArgv(process.argv));
