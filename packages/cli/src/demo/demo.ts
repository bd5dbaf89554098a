/**
 * `ratls demo`: a finite, scripted end-to-end run on the simulated TEE, on loopback only.
 * A gateway (itself attested) fronts a small secret store; three enclaves try to read a secret:
 * the one the policy names (served), an impostor with an unexpected MRENCLAVE (refused), and a
 * debug build of the right enclave (refused). Exits 0 only if all three outcomes are as expected.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRaTlsCertificate, exportPrivateKeyPem, generateKeyPair } from '@ratls/attester';
import { initSimulation, type SimState, SimulatedQuoteProvider } from '@ratls/sim';
import { Agent, FileCollateralSource, parsePolicy, trustAnchorFrom } from '@ratls/verifier';
import { startGateway } from '../gateway/index.js';

const mr = (label: string) => createHash('sha256').update(`ratls demo: ${label}`).digest('hex');
export const DEMO_MEASUREMENTS = {
  secretReader: mr('secret-reader v1'),
  impostor: mr('impostor'),
  gateway: mr('gateway'),
  signer: mr('demo signing key'),
};
const SECRET = 'db-password=correct-horse-battery-staple';

export interface Enclave {
  name: string;
  crt: string;
  key: string;
}

/**
 * Issues a simulated SGX enclave's RA-TLS certificate and key as `dir/name.crt` and `dir/name.key`.
 * @example const e = await issueSimEnclave(sim, '/tmp/x', 'app', 'ab'.repeat(32))
 */
export async function issueSimEnclave(
  sim: SimState,
  dir: string,
  name: string,
  mrEnclave: string,
  debug = false,
  validitySeconds = 3600,
): Promise<Enclave> {
  const provider = new SimulatedQuoteProvider(sim, {
    tee: 'sgx',
    mrEnclave,
    mrSigner: DEMO_MEASUREMENTS.signer,
    debug,
  });
  const keyPair = await generateKeyPair('P-256');
  const cert = await buildRaTlsCertificate({
    keyPair,
    provider,
    subject: name,
    altNames: ['localhost', '127.0.0.1'],
    validitySeconds,
  });
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  writeFileSync(crt, cert.pem);
  // A simulated enclave only: real attesters keep the key in the TEE's memory.
  writeFileSync(key, exportPrivateKeyPem(keyPair), { mode: 0o600 });
  return { name, crt, key };
}

function startSecretStore(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    // The store trusts the gateway's identity header: the gateway strips any copy a client sends.
    const who = req.headers['x-ratls-identity'];
    if (req.url === '/secret' && who === 'secret-reader') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ secret: SECRET, servedTo: who, tcb: req.headers['x-ratls-tcb-status'] }));
      return;
    }
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'forbidden' }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export interface DemoEnv {
  dir: string;
  sim: SimState;
  enclaves: { app: Enclave; impostor: Enclave; debug: Enclave; gateway: Enclave };
  configPath: string;
  auditPath: string;
  policyPath: string;
}

/** Writes the simulated TEE, certificates, policy and gateway configuration into `dir`. */
export async function prepareDemo(
  dir: string,
  storeUrl: string,
  ports: { gateway: number; admin: number } = { gateway: 0, admin: 0 },
): Promise<DemoEnv> {
  const sim = await initSimulation(join(dir, 'sim'));
  const enclaves = {
    app: await issueSimEnclave(sim, dir, 'secret-reader', DEMO_MEASUREMENTS.secretReader),
    impostor: await issueSimEnclave(sim, dir, 'impostor', DEMO_MEASUREMENTS.impostor),
    debug: await issueSimEnclave(sim, dir, 'secret-reader-debug', DEMO_MEASUREMENTS.secretReader, true),
    gateway: await issueSimEnclave(sim, dir, 'gateway', DEMO_MEASUREMENTS.gateway),
  };
  const policyPath = join(dir, 'policy.yaml');
  writeFileSync(
    policyPath,
    [
      'version: 1',
      'defaults:',
      '  tcbStatus: [UpToDate, SWHardeningNeeded]',
      '  debug: false',
      '  simulated: true   # this demo runs on the simulated TEE; production policies leave this false',
      'identities:',
      '  - name: secret-reader',
      `    sgx: { mrEnclave: ["${DEMO_MEASUREMENTS.secretReader}"] }`,
      '',
    ].join('\n'),
  );
  const auditPath = join(dir, 'audit.jsonl');
  const configPath = join(dir, 'gateway.yaml');
  writeFileSync(
    configPath,
    [
      'version: 1',
      'trust:',
      '  anchors: [./sim/root.pem]',
      '  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]',
      'policy: ./policy.yaml',
      'audit: { file: ./audit.jsonl }',
      `admin: 127.0.0.1:${ports.admin}`,
      'listeners:',
      '  - name: secrets',
      `    listen: 127.0.0.1:${ports.gateway}`,
      '    tls: { cert: ./gateway.crt, key: ./gateway.key }',
      `    forward: { http: ${storeUrl} }`,
      '',
    ].join('\n'),
  );
  return { dir, sim, enclaves, configPath, auditPath, policyPath };
}

interface Attempt {
  enclave: string;
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
}

/** One HTTPS request as an enclave: its RA-TLS cert as client cert, the gateway attested by policy. */
function fetchSecret(env: DemoEnv, who: Enclave, port: number): Promise<Attempt> {
  const agent = new Agent({
    cert: readFileSync(who.crt, 'utf8'),
    key: readFileSync(who.key, 'utf8'),
    keepAlive: false,
    attestation: {
      policy: parsePolicy(
        [
          'version: 1',
          'defaults: { simulated: true }',
          'identities:',
          '  - name: gateway',
          `    sgx: { mrEnclave: ["${DEMO_MEASUREMENTS.gateway}"] }`,
          '',
        ].join('\n'),
        { source: 'enclave-side policy' },
      ),
      trustAnchors: [trustAnchorFrom(readFileSync(join(env.dir, 'sim', 'root.pem'), 'utf8'))],
      collateralSource: new FileCollateralSource([join(env.dir, 'sim', 'collateral.json')]),
    },
  });
  return new Promise((resolve) => {
    const req = https.request(
      { host: '127.0.0.1', port, path: '/secret', method: 'GET', agent, timeout: 10_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          agent.destroy();
          resolve({ enclave: who.name, ok: res.statusCode === 200, status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      agent.destroy();
      resolve({ enclave: who.name, ok: false, error: e.code ?? e.message });
    });
    req.end();
  });
}

function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** Starts the demo's gateway; a fixed port in use gets a message naming the way out. */
async function startDemoGateway(
  configPath: string,
  ports: { gateway: number; admin: number },
  watch = false,
): Promise<Awaited<ReturnType<typeof startGateway>>> {
  try {
    return await startGateway(configPath, { ...(watch ? {} : { watch: false }), log: () => {} });
  } catch (e) {
    if (/EADDRINUSE/.test(String((e as Error).message) + String((e as { cause?: unknown }).cause ?? '')))
      throw new Error(
        `port ${ports.gateway} or ${ports.admin} on 127.0.0.1 is in use: stop what holds it, or run \`ratls demo --port 0 --admin-port 0\` (any free ports)`,
        { cause: e },
      );
    throw e;
  }
}

function shortHex(h: unknown): string {
  return typeof h === 'string' && h.length > 16 ? `${h.slice(0, 12)}…` : String(h ?? '-');
}

/** The demo's fixed ports, so its curl lines can be copied from the README (0: any free port). */
export const DEMO_PORTS = { gateway: 8443, admin: 9090 };

export interface DemoOptions {
  serve?: boolean;
  keep?: boolean;
  out?: (line: string) => void;
  /** The gateway's and admin's ports (default DEMO_PORTS; tests pass 0). */
  ports?: { gateway: number; admin: number };
  /** With `serve`: stop serving when this settles (default: SIGINT or SIGTERM). */
  serveUntil?: Promise<void>;
}

const GLOSSARY = [
  ['TEE', 'trusted execution environment: an enclave (SGX) or a confidential VM (TDX, SEV-SNP, Nitro)'],
  ['quote', "the TEE's signed statement of what code runs (MRENCLAVE) and who signed it (MRSIGNER)"],
  ['RA-TLS certificate', 'a TLS certificate carrying a quote that binds its public key to the enclave'],
  ['collateral', "Intel's signed TCB info, QE identity and CRLs that say whether a platform is up to date"],
  ['policy', 'which measurements may connect (policy.yaml); everything else is refused'],
  ['gateway', 'verifies each client enclave, applies the policy, then forwards to the backend'],
] as const;

/** Runs the scenario; resolves to the exit code. */
export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const out = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const dir = mkdtempSync(join(tmpdir(), 'ratls-demo-'));
  const ports = opts.ports ?? DEMO_PORTS;
  const store = await startSecretStore();
  const storeUrl = `http://127.0.0.1:${(store.address() as AddressInfo).port}`;
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    out('ratls demo: attested TLS on a SIMULATED TEE (no real hardware; every result says "simulated")');
    out(`  working folder ${dir}${opts.keep || opts.serve ? ' (kept)' : ' (deleted at the end; --keep keeps it)'}`);
    const env = await prepareDemo(dir, storeUrl, ports);
    out('  1. created a simulated Intel SGX hierarchy (root, PCK CA, TCB signer, signed collateral, CRLs)');
    out('  2. issued RA-TLS certificates: secret-reader, impostor, secret-reader (debug build), gateway');
    gateway = await startDemoGateway(env.configPath, ports);
    const addrs = gateway.addresses();
    const port = addrs.secrets?.port as number;
    const admin = addrs.admin;
    out(`  3. gateway listening on 127.0.0.1:${port} in front of the secret store at ${storeUrl}`);
    out(
      `     policy: only MRENCLAVE ${shortHex(DEMO_MEASUREMENTS.secretReader)} (secret-reader), no debug, TCB UpToDate/SWHardeningNeeded`,
    );
    out('');
    out(`the gateway's configuration (${env.configPath}):`);
    for (const l of readFileSync(env.configPath, 'utf8').trimEnd().split('\n')) out(`  | ${l}`);
    out(`the policy (${env.policyPath}):`);
    for (const l of readFileSync(env.policyPath, 'utf8').trimEnd().split('\n')) out(`  | ${l}`);
    out('');
    const expectations: Array<[Enclave, boolean, string]> = [
      [env.enclaves.app, true, 'the enclave the policy names'],
      [env.enclaves.impostor, false, 'an impostor with an unexpected MRENCLAVE'],
      [env.enclaves.debug, false, 'a debug build of the right enclave'],
    ];
    let failures = 0;
    for (const [i, [enclave, expectOk, what]] of expectations.entries()) {
      const a = await fetchSecret(env, enclave, port);
      const as = a.ok === expectOk ? 'as expected' : 'UNEXPECTED';
      if (a.ok !== expectOk) failures++;
      const detail = a.ok
        ? `HTTP ${a.status} ${a.body}`
        : a.status
          ? `HTTP ${a.status}`
          : `connection refused by the gateway (${a.error})`;
      out(`  attempt ${i + 1}: ${what}\n     → ${a.ok ? 'SERVED' : 'REFUSED'} ${as}: ${detail}`);
    }
    const metrics = admin
      ? await httpGet(`http://${admin.host}:${admin.port}/metrics`)
      : await gateway.metrics.registry.metrics();
    await gateway.close();
    const events = readFileSync(env.auditPath, 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      // Decisions only: policy reloads and the per-request `ratls-http-request` events are counted elsewhere.
      .filter((e) => (e.event as Record<string, unknown>)?.action === 'ratls-handshake');
    out('');
    out(
      `audit events (${events.length}, one per attempt; full JSON lines in ${env.auditPath}${opts.keep || opts.serve ? '' : ', kept with --keep'}):`,
    );
    for (const e of events) {
      const ev = e.event as Record<string, unknown>;
      const at = (e.attestation ?? {}) as Record<string, unknown>;
      out(
        `  ${String(e['@timestamp'])} ${String((ev.type as string[])?.[0]).padEnd(7)} reason=${String(ev.reason).padEnd(22)} mr_enclave=${shortHex(at.mr_enclave)} debug=${String(at.debug)} identity=${String(at.identity ?? '-')} simulated=${String(at.simulated)}`,
      );
    }
    if (events.length !== expectations.length) failures++;
    out('');
    out('metrics excerpt (/metrics):');
    for (const line of metrics.split('\n')) {
      if (/^ratls_(handshakes_total|attestation_rejections_total|policy_info)\{/.test(line)) out(`  ${line}`);
    }
    out('');
    out('glossary:');
    for (const [term, meaning] of GLOSSARY) out(`  ${term.padEnd(19)} ${meaning}`);
    out('');
    out('next steps:');
    out('  ratls demo --serve             keep this running and try it with curl');
    out('  ratls init ./my-gateway        a commented gateway.yaml and policy.yaml of your own');
    out('  ratls gateway --check --config ./my-gateway/gateway.yaml');
    out('  docs/gateway.md, docs/policy.md, docs/concepts.md');
    if (opts.serve) {
      gateway = await startDemoGateway(env.configPath, ports, true);
      const p = gateway.addresses().secrets?.port;
      const adm = gateway.addresses().admin;
      out('');
      out(`serving on 127.0.0.1:${p} until Ctrl-C. Try:`);
      out(`  curl -sk --cert ${env.enclaves.app.crt} --key ${env.enclaves.app.key} https://127.0.0.1:${p}/secret`);
      out(
        `  curl -sk --cert ${env.enclaves.impostor.crt} --key ${env.enclaves.impostor.key} https://127.0.0.1:${p}/secret`,
      );
      out(`  curl -sk https://127.0.0.1:${p}/secret`);
      if (adm) out(`  curl -s http://${adm.host}:${adm.port}/metrics | grep ^ratls_`);
      out(`  tail -f ${env.auditPath}`);
      await (opts.serveUntil ??
        new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
        }));
    }
    out('');
    out(
      failures === 0
        ? 'demo passed: only the attested, policy-approved enclave got the secret.'
        : `demo FAILED (${failures} unexpected outcomes)`,
    );
    return failures === 0 ? 0 : 1;
  } finally {
    await gateway?.close().catch(() => {});
    store.close();
    if (!opts.keep && !opts.serve) rmSync(dir, { recursive: true, force: true });
    else out(`files kept in ${dir}`);
  }
}
