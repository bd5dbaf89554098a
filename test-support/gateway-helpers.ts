/**
 * Helpers for the gateway's integration tests and benchmark: temp dirs, certificates made with
 * openssl, a free-port finder, an echo HTTP backend, and running real client binaries.
 * Not part of the public surface.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import {
  type AttestationResult,
  type AuditEvent,
  collateralFacts,
  collateralFromJson,
  type PeerVerification,
  type QuoteCollateralV3Json,
} from '@ratls/verifier';
import { fixtureFromCase, type PcsServer, startPcsServer } from './pcs-server.js';
import { fakeSgxResult } from './tls-testkit.js';
import { vectorPath } from './vectors.js';

export const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
export const ENTRY = join(REPO, 'packages/cli/src/gateway/entry.ts');

export function tempDir(prefix = 'ratls-gw-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function haveBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).status === 0;
}

/** A self-signed P-256 certificate and key written as `<name>.crt` / `<name>.key` in `dir`. */
export function opensslCert(
  dir: string,
  name: string,
  cn = name,
  extraSans: string[] = [],
): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${['IP:127.0.0.1', ...extraSans.map((d) => `DNS:${d}`)].join(',')}`,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
  return { cert, key };
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolvePort(port));
    });
  });
}

export interface EchoBackend {
  port: number;
  requests: Array<{
    method: string;
    url: string;
    headers: http.IncomingHttpHeaders;
    rawHeaders: string[];
    body: string;
  }>;
  close(): Promise<void>;
}

/** An HTTP backend that answers with JSON describing the request it saw. */
export async function echoBackend(): Promise<EchoBackend> {
  const requests: EchoBackend['requests'] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString('utf8');
    });
    req.on('end', () => {
      const seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        body,
      };
      requests.push(seen);
      const out = JSON.stringify(seen);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out) });
      res.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a client binary with a timeout; never throws. */
export function run(
  cmd: string,
  args: string[],
  opts: { timeoutMs?: number; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolveRun) => {
    const child = execFile(
      cmd,
      args,
      { timeout: opts.timeoutMs ?? 15_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : null
          : 0;
        resolveRun({ code, stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    else child.stdin?.end();
  });
}

export interface GatewayProcess {
  child: ChildProcess;
  ready: string;
  stderr: () => string;
  /** Parsed `name=host:port` pairs from the ready line. */
  addresses: Record<string, number>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * The `msg` of the first operational-log line (one JSON object per stderr line) matching `re`.
 * @example logMessage(stderr, /^ratls gateway ready: /)
 */
export function logMessage(stderr: string, re: RegExp): string | undefined {
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const msg = (JSON.parse(line) as { msg?: unknown }).msg;
      if (typeof msg === 'string' && re.test(msg)) return msg;
    } catch {
      // A line still being written: the next chunk completes it.
    }
  }
  return undefined;
}

/** Spawns the real gateway process (with extra `args`, e.g. `--log-level`) and waits for its ready line. */
export async function spawnGateway(
  configPath: string,
  timeoutMs = 40_000,
  args: string[] = [],
): Promise<GatewayProcess> {
  const child = spawn(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', ENTRY, '--config', configPath, ...args],
    {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stdout?.resume();
  const ready = await new Promise<string>((resolveReady, reject) => {
    const t = setTimeout(() => {
      // Not left running: a cluster primary's workers exit when its IPC channel closes.
      child.kill('SIGKILL');
      reject(new Error(`gateway not ready in ${timeoutMs} ms:\n${err}`));
    }, timeoutMs);
    child.stderr?.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      const m = logMessage(err, /^ratls gateway ready: /);
      if (m) {
        clearTimeout(t);
        resolveReady(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`gateway exited with ${code}:\n${err}`));
    });
  });
  const addresses: Record<string, number> = {};
  for (const m of ready.matchAll(/(\w[\w-]*)=(?:\[[^\]]+\]|[^:\s]+):(\d+)/g)) addresses[m[1] as string] = Number(m[2]);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    ready,
    stderr: () => err,
    addresses,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
}

export function writeFile(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface SimCertOptions {
  mrEnclave: string;
  debug?: boolean;
  isvSvn?: number;
  subject?: string;
}

/**
 * Issues a simulated SGX RA-TLS certificate from the simulator state in `simDir` and writes
 * `<out>.crt` / `<out>.key` (the simulator is not an enclave: its key has to reach disk for curl).
 */
export async function simCert(simDir: string, out: string, o: SimCertOptions): Promise<{ cert: string; key: string }> {
  const { buildRaTlsCertificate, exportPrivateKeyPem, generateKeyPair } = await import('@ratls/attester');
  const { loadSimulation, SimulatedQuoteProvider } = await import('@ratls/sim');
  const state = await loadSimulation(simDir);
  const provider = new SimulatedQuoteProvider(state, {
    tee: 'sgx',
    mrEnclave: o.mrEnclave,
    debug: o.debug ?? false,
    ...(o.isvSvn !== undefined ? { isvSvn: o.isvSvn } : {}),
  });
  const keyPair = await generateKeyPair('P-256');
  const cert = await buildRaTlsCertificate({
    keyPair,
    provider,
    format: 'dice',
    subject: o.subject ?? 'ratls-sim',
    altNames: ['localhost', '127.0.0.1'],
    validitySeconds: 86_400,
  });
  writeFileSync(`${out}.crt`, cert.pem);
  writeFileSync(`${out}.key`, exportPrivateKeyPem(keyPair), { mode: 0o600 });
  return { cert: `${out}.crt`, key: `${out}.key` };
}

/**
 * A simulated Intel hierarchy in `<dir>/sim`, one attested client certificate per entry of
 * `clients` (`<dir>/<name>.crt` / `.key`) and the gateway's own RA-TLS certificate
 * (`<dir>/<server.file ?? 'server'>.*`, subject "gateway"): the setup of the spawned-gateway scenarios.
 * @example const { certs } = await simulatedFleet(dir, { good: { mrEnclave: GOOD } }, { mrEnclave: GOOD });
 */
export async function simulatedFleet<N extends string>(
  dir: string,
  clients: Record<N, SimCertOptions>,
  server: { mrEnclave: string; file?: string },
): Promise<{ sim: string; certs: Record<N, { cert: string; key: string }> }> {
  const { initSimulation } = await import('@ratls/sim');
  const sim = join(dir, 'sim');
  await initSimulation(sim);
  const certs = {} as Record<N, { cert: string; key: string }>;
  for (const name of Object.keys(clients) as N[]) certs[name] = await simCert(sim, join(dir, name), clients[name]);
  await simCert(sim, join(dir, server.file ?? 'server'), { mrEnclave: server.mrEnclave, subject: 'gateway' });
  return { sim, certs };
}

// In-process gateway scenarios (packages/cli/src/gateway/scenarios/): a stand-in certificate
// verifier, the policy and the collateral every scenario shares, and the options that start a
// gateway around them. The real policy, audit, forwarding, metrics, limits and reload code run.

/** The measurement the scenarios' policy admits. */
/**
 * A simulated Intel hierarchy in `<dir>/sim`, an attested client certificate (`<dir>/client.*`) and
 * the gateway's server certificate (`<dir>/server.*`) for `mrEnclave`, and the counting PCS
 * stand-in serving the simulator's collateral: the setup of every PCCS-backed gateway scenario.
 * @example const { client, pcs } = await simulatedPccs(dir, GOOD); // trust.pccs: pcs.url
 */
export async function simulatedPccs(
  dir: string,
  mrEnclave: string,
  opts: { early?: boolean } = {},
): Promise<{ sim: string; client: { cert: string; key: string }; pcs: PcsServer }> {
  const { buildCollateral, initSimulation } = await import('@ratls/sim');
  const sim = join(dir, 'sim');
  const state = await initSimulation(sim);
  const client = await simCert(sim, join(dir, 'client'), { mrEnclave });
  await simCert(sim, join(dir, 'server'), { mrEnclave, subject: 'gateway' });
  const standard = fixtureFromCase(
    JSON.parse(readFileSync(join(sim, 'collateral.json'), 'utf8')) as QuoteCollateralV3Json,
  );
  // `early`: also serve the simulator's update=early set, whose TCB recovery demotes today's
  // UpToDate level to OutOfDate (PCS API v4 `update=early`).
  const early = opts.early
    ? [{ ...fixtureFromCase((await buildCollateral(state, { early: true })).sgx), update: 'early' as const }]
    : [];
  const pcs = await startPcsServer([standard, ...early]);
  return { sim, client, pcs };
}

export const GOOD = 'aa'.repeat(32);
/** A measurement the scenarios' policy refuses until a reload admits it. */
export const IMPOSTOR = 'cc'.repeat(32);
/** The collateral vector behind every in-process scenario (file collateral, health and metrics). */
export const SCENARIO_COLLATERAL = 'dcap-cases/auto_sgx_2025-08.collateral.json';

/** A certificate verifier stand-in (tests only): the certificate's CN picks the result. */
export type StandInVerify = (der: Uint8Array) => Promise<PeerVerification>;

/**
 * Maps a client certificate's CN to a verified-looking result; any other CN fails verification
 * with `ERR_FAKE_NO_EVIDENCE`, as a certificate without evidence would.
 * @example const verify = verifierByCn({ low: fakeSgxResult('aa'.repeat(32)) });
 */
export function verifierByCn(results: Record<string, AttestationResult>): StandInVerify {
  return async (der) => {
    const x = new X509Certificate(Buffer.from(der));
    const cn = /CN=([^\n,]+)/.exec(x.subject)?.[1];
    const result = cn !== undefined && Object.hasOwn(results, cn) ? results[cn] : undefined;
    if (!result) throw Object.assign(new Error('no evidence'), { code: 'ERR_FAKE_NO_EVIDENCE' });
    return {
      result,
      certificate: {
        fingerprintSha256: x.fingerprint256.replace(/:/g, '').toLowerCase(),
        notBefore: 0,
        notAfter: 4_102_444_800,
        subject: x.subject,
        formats: ['tcg-dice'],
      },
      binding: { formats: ['tcg-dice'] },
    };
  };
}

/** CN → result: good, impostor, debug (the good enclave in debug mode); anything else fails. */
export const standInVerify: StandInVerify = verifierByCn({
  good: fakeSgxResult(GOOD),
  impostor: fakeSgxResult(IMPOSTOR),
  debug: fakeSgxResult(GOOD, undefined, true),
});

/** The scenarios' policy: one identity, `payments`, admitting these SGX measurements. */
export function scenarioPolicy(allowed: string[]): string {
  return `version: 1\ndefaults:\n  simulated: true\nidentities:\n  - name: payments\n    sgx: { mrEnclave: [${allowed.map((m) => `"${m}"`).join(', ')}] }\n`;
}

/**
 * A policy for the simulator's certificates: one identity `name` admitting these SGX measurements,
 * with the simulator's root allowed (tests only).
 * @example writeFile(dir, 'policy.yaml', simulatorPolicy('payments', [GOOD]))
 */
export function simulatorPolicy(name: string, allowed: string[]): string {
  return `version: 1\ndefaults:\n  simulated: true   # the simulator's root: tests only\nidentities:\n  - name: ${name}\n    sgx: { mrEnclave: [${allowed.map((m) => `"${m}"`).join(', ')}] }\n`;
}

/** The scenario collateral's path and nextUpdate (Unix ms); scenarios run a day before it. */
export function scenarioCollateral(): { path: string; nextUpdateMs: number; now: number } {
  const path = vectorPath(SCENARIO_COLLATERAL);
  const nextUpdateMs = collateralFacts(collateralFromJson(readFileSync(path, 'utf8'))).nextUpdate;
  return { path, nextUpdateMs, now: nextUpdateMs - 86_400_000 };
}

/**
 * Options for `startGateway` in a scenario: fixed clock, audit events into `events`, the stand-in
 * verifier, no file watch unless asked, no operational log.
 * @example gw = await startGateway(join(dir, 'gateway.yaml'), scenarioOptions(events, () => now));
 */
export function scenarioOptions(
  events: AuditEvent[],
  clock: () => number,
  more: { verify?: StandInVerify; watch?: { debounceMs: number } } = {},
) {
  return {
    clock,
    auditSink: { callback: (e: AuditEvent) => events.push(e) },
    dangerousVerify: more.verify ?? standInVerify,
    watch: more.watch ?? (false as const),
    log: () => undefined,
  };
}

/** A TCP-forwarding scenario: one listener in front of a TCP echo backend, with the given limits. */
export interface TcpScenario<G extends ScenarioGateway, N extends string> {
  gw: G;
  backend: TcpEchoBackend;
  certs: ScenarioCerts<N>;
  events: AuditEvent[];
  /** The scenario's folder (for extra client certificates). */
  dir: string;
  /** Polls the metrics text until `re` matches (waitForMetric). */
  metric(re: RegExp, tries?: number): Promise<boolean>;
  /** How many audit events carry error code `code`. */
  codes(code: string): number;
  close(): Promise<void>;
}

/**
 * Starts a gateway with `start` (the CLI's `startGateway`) whose listener `name` forwards TCP to an
 * echo backend; `limits` are the gateway-wide limits, `listenerLimits` the listener's own.
 * @example const s = await tcpScenario(startGateway, { name: 'echo', clients: ['good'], limits: '{ drainTimeoutMs: 500 }' });
 */
export async function tcpScenario<G extends ScenarioGateway, N extends string>(
  start: StartScenarioGateway<G>,
  o: { name: string; clients: readonly N[]; limits: string; listenerLimits?: string; events?: AuditEvent[] },
): Promise<TcpScenario<G, N>> {
  const dir = tempDir();
  const certs = scenarioCerts(dir, o.clients);
  const backend = await tcpEchoBackend();
  // The caller's array when given, so its tests can read the events as they arrive.
  const events: AuditEvent[] = o.events ?? [];
  const own = o.listenerLimits ? `    limits: ${o.listenerLimits}\n` : '';
  const config = writeScenarioConfig(dir, {
    limits: o.limits,
    listeners: `  - name: ${o.name}
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "127.0.0.1:${backend.port}" }
${own}`,
  });
  const gw = await start(
    config,
    scenarioOptions(events, () => scenarioCollateral().now),
  );
  return {
    gw,
    backend,
    certs,
    events,
    dir,
    metric: (re, tries = 40) => waitForMetric(gw, re, tries),
    codes: (code) => events.filter((e) => e.error?.code === code).length,
    async close() {
      for (const s of backend.held) s.destroy();
      await gw.close();
      await backend.close();
    },
  };
}

/**
 * Polls a gateway's metrics text until `re` matches: metrics are updated on the gateway's side of
 * a close, which may land just after the client's.
 * @example assert.ok(await waitForMetric(gw, /ratls_active_connections\{listener="echo"\} 0/));
 */
export async function waitForMetric(
  gw: { metrics: { registry: { metrics(): Promise<string> } } },
  re: RegExp,
  tries = 20,
): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (re.test(await gw.metrics.registry.metrics())) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return false;
}

/** Handshake audit events only (not policy reloads or HTTP request events). */
export function handshakeEvents(events: AuditEvent[]): AuditEvent[] {
  return events.filter((e) => e.event.action === 'ratls-handshake');
}

/** Client and server certificates of a scenario, by name. */
export type ScenarioCerts<N extends string> = Record<'server' | N, { cert: string; key: string }>;

/**
 * The server certificate (for 127.0.0.1) and one client certificate per CN, in `dir`.
 * @example const certs = scenarioCerts(dir, ['good', 'impostor']); certs.good.cert
 */
export function scenarioCerts<N extends string>(dir: string, clients: readonly N[]): ScenarioCerts<N> {
  const out = { server: opensslCert(dir, 'server', '127.0.0.1') } as ScenarioCerts<N>;
  for (const cn of clients) out[cn] = opensslCert(dir, cn);
  return out;
}

/**
 * Writes `policy.yaml` (admitting GOOD) and `gateway.yaml` with the scenario collateral, the given
 * limits and listeners (YAML list items), and an admin port when asked (with `adminAuth.tokenFile`
 * = adminToken(dir), the default token); returns the config path.
 * @example const config = writeScenarioConfig(dir, { limits: '{ drainTimeoutMs: 500 }', listeners: '  - name: echo …' });
 */
export function writeScenarioConfig(dir: string, o: { listeners: string; limits: string; admin?: boolean }): string {
  writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
  const admin = o.admin ? `admin: 127.0.0.1:0\nadminAuth: { tokenFile: ${adminToken(dir).tokenFile} }\n` : '';
  const text = `version: 1\ntrust:\n  collateral: ${scenarioCollateral().path}\npolicy: ./policy.yaml\n${admin}limits: ${o.limits}\nlisteners:\n${o.listeners}`;
  return writeFile(dir, 'gateway.yaml', text);
}

/** The listener the state tests build: `api`, HTTP to a port nothing listens on (no traffic is sent). */
export const STATE_API_LISTENER =
  '  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:1" } }\n';

/**
 * For tests that build the gateway's state without starting it: the server certificate (for
 * 127.0.0.1), `policy.yaml` admitting GOOD and a `gateway.yaml` with the scenario collateral and
 * these listeners (YAML list items); returns the config path.
 * @example state = await buildState(loadGatewayConfig(writeStateConfig(tempDir(), STATE_API_LISTENER)), undefined, {});
 */
export function writeStateConfig(dir: string, listeners: string): string {
  opensslCert(dir, 'server', '127.0.0.1');
  writeFile(dir, 'policy.yaml', scenarioPolicy([GOOD]));
  return writeFile(
    dir,
    'gateway.yaml',
    `version: 1\ntrust: { collateral: ${scenarioCollateral().path} }\npolicy: ./policy.yaml\nlisteners:\n${listeners}`,
  );
}

export interface TcpEchoBackend {
  port: number;
  /** Every connection the backend accepted (tests close them). */
  held: net.Socket[];
  close(): Promise<void>;
}

/** A TCP backend that echoes what it reads. */
export async function tcpEchoBackend(): Promise<TcpEchoBackend> {
  const held: net.Socket[] = [];
  const server = net.createServer((s) => {
    held.push(s);
    s.on('data', (c: Buffer) => s.write(c));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as net.AddressInfo).port,
    held,
    close: () =>
      new Promise<void>((r) => {
        for (const s of held) s.destroy();
        server.close(() => r());
      }),
  };
}

/** What the scenarios need of a running gateway (structural, so test-support needs no CLI import). */
export interface ScenarioGateway {
  addresses(): Record<string, { host: string; port: number }>;
  close(): Promise<void>;
  metrics: { registry: { metrics(): Promise<string> } };
}

export type StartScenarioGateway<G extends ScenarioGateway> = (
  configPath: string,
  opts: ReturnType<typeof scenarioOptions>,
) => Promise<G>;

/** An HTTP-forwarding scenario: listener `api` in front of an echo backend under `/base`. */
export interface HttpScenario<G extends ScenarioGateway> {
  gw: G;
  backend: EchoBackend;
  certs: ScenarioCerts<'good' | 'impostor' | 'debug'>;
  events: AuditEvent[];
  policyPath: string;
  /** The gateway's clock (Unix ms), a day before the collateral's nextUpdate; tests may move it. */
  clock: { now: number };
  nextUpdateMs: number;
  /** The header carrying the admin bearer token (with `admin: true`). */
  adminHeaders: { authorization: string };
  /** curl through the gateway as client `who` (null: no client certificate). */
  curl(who: 'good' | 'impostor' | 'debug' | null, path: string, extra?: string[]): Promise<RunResult>;
  handshakes(): AuditEvent[];
  close(): Promise<void>;
}

/**
 * Starts the shared HTTP scenario with `start` (the CLI's `startGateway`).
 * @example const s = await httpScenario(startGateway); const r = await s.curl('good', '/hello');
 */
export async function httpScenario<G extends ScenarioGateway>(
  start: StartScenarioGateway<G>,
  o: { admin?: boolean } = {},
): Promise<HttpScenario<G>> {
  const dir = tempDir();
  const certs = scenarioCerts(dir, ['good', 'impostor', 'debug'] as const);
  const backend = await echoBackend();
  const { now, nextUpdateMs } = scenarioCollateral();
  const clock = { now };
  const events: AuditEvent[] = [];
  const config = writeScenarioConfig(dir, {
    ...(o.admin ? { admin: true } : {}),
    limits: '{ handshakeTimeoutMs: 1500, drainTimeoutMs: 1000 }',
    listeners: `  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}/base" }
`,
  });
  const gw = await start(
    config,
    scenarioOptions(events, () => clock.now),
  );
  const curl = (who: 'good' | 'impostor' | 'debug' | null, path: string, extra: string[] = []) =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      ...(who ? ['--cert', certs[who].cert, '--key', certs[who].key] : []),
      ...extra,
      `https://127.0.0.1:${gw.addresses().api?.port}${path}`,
    ]);
  return {
    gw,
    backend,
    certs,
    events,
    policyPath: join(dir, 'policy.yaml'),
    clock,
    nextUpdateMs,
    adminHeaders: adminToken(dir).headers,
    curl,
    handshakes: () => handshakeEvents(events),
    async close() {
      await gw.close();
      await backend.close();
    },
  };
}

/** The reload scenarios' gateway: listener `web` (server certificate CN=first) in front of an HTTP echo backend. */
export interface WebScenario<G extends ScenarioGateway> {
  dir: string;
  gw: G;
  backend: EchoBackend;
  /** The client certificate the stand-in verifier accepts. */
  good: { cert: string; key: string };
}

/**
 * Starts the reload scenarios' gateway with `start` (the CLI's `startGateway`); audit events go to
 * `events`; `watch` turns the file watcher on.
 * @example ({ dir, gw, backend, good } = await webScenario(startGateway, { events }));
 */
export async function webScenario<G extends ScenarioGateway>(
  start: StartScenarioGateway<G>,
  o: { events: AuditEvent[]; watch?: { debounceMs: number } },
): Promise<WebScenario<G>> {
  const dir = tempDir();
  opensslCert(dir, 'server', 'first');
  const good = opensslCert(dir, 'good');
  const backend = await echoBackend();
  const config = writeScenarioConfig(dir, {
    limits: '{ drainTimeoutMs: 5000 }',
    listeners: `  - { name: web, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${backend.port}" } }\n`,
  });
  const gw = await start(
    config,
    scenarioOptions(o.events, () => scenarioCollateral().now, o.watch ? { watch: o.watch } : {}),
  );
  return { dir, gw, backend, good };
}

/**
 * The subject of the certificate a TLS server on 127.0.0.1:`port` serves to `client` (not verified:
 * the reload tests only ask which certificate is being served).
 * @example assert.match((await servedSubject(port, good)) ?? '', /CN=second/)
 */
export async function servedSubject(port: number, client: { cert: string; key: string }): Promise<string | undefined> {
  const s = tls.connect({
    host: '127.0.0.1',
    port,
    cert: readFileSync(client.cert),
    key: readFileSync(client.key),
    rejectUnauthorized: false,
  });
  await new Promise<void>((r, j) => {
    s.once('secureConnect', () => r());
    s.once('error', j);
  });
  const cn = s.getPeerX509Certificate()?.subject;
  s.destroy();
  return cn;
}

/** An admin bearer token written to `dir/admin.token`, for configs' `adminAuth.tokenFile`. */
export interface AdminToken {
  tokenFile: string;
  token: string;
  /** The request header that carries it. */
  headers: { authorization: string };
}

/**
 * Writes an admin bearer token file (the admin server answers /healthz and /console only with it).
 * @example const t = adminToken(dir); yaml += `adminAuth: { tokenFile: ${t.tokenFile} }`; fetch(url, { headers: t.headers })
 */
export function adminToken(dir: string, token = 'admin-token-for-tests-0123456789'): AdminToken {
  return {
    tokenFile: writeFile(dir, 'admin.token', `${token}\n`),
    token,
    headers: { authorization: `Bearer ${token}` },
  };
}
