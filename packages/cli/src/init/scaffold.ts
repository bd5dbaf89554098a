/**
 * `ratls init DIR`: a starting point an operator can read, check and run. It writes a simulated
 * TEE (so everything works on a laptop), the gateway's own RA-TLS certificate, an example client
 * enclave's certificate, and a gateway.yaml and policy.yaml whose comments say what to change for
 * production. The result passes `ratls gateway --check` and starts with `ratls gateway`.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { initSimulation } from '@ratls/sim';
import { DEMO_MEASUREMENTS, issueSimEnclave } from '../demo/demo.js';
import { UsageError } from '../io.js';

export interface ScaffoldOptions {
  /** The gateway's TLS listener (default 127.0.0.1:8443). */
  listen?: string;
  /** The admin endpoint (default 127.0.0.1:9090). */
  admin?: string;
  /** The backend the gateway forwards to (default http://127.0.0.1:8080). */
  backend?: string;
  /** Overwrite an existing gateway.yaml / policy.yaml. */
  force?: boolean;
}

export interface Scaffold {
  dir: string;
  files: string[];
}

/** The policy file: one identity, the simulated client enclave, with the production notes. */
export function policyText(mrEnclave: string): string {
  return `# ratls policy (docs/policy.md). The first identity that matches names the peer; nothing else gets in.
# Check it with: ratls policy check policy.yaml
version: 1
defaults:
  tcbStatus: [UpToDate, SWHardeningNeeded]   # any other TCB status is refused
  debug: false                               # debug enclaves expose their memory: never allow in production
  simulated: true                            # ./sim is a SIMULATED TEE; delete this line for real hardware
identities:
  - name: client                             # sent to the backend as x-ratls-identity
    # The MRENCLAVE of ./client.crt (a simulated enclave). Put your enclave's measurement here,
    # e.g. from: ratls inspect your-enclave.crt
    sgx: { mrEnclave: ["${mrEnclave}"] }
`;
}

/** The gateway file, every path relative to it. */
export function gatewayText(o: Required<Pick<ScaffoldOptions, 'listen' | 'admin' | 'backend'>>): string {
  return `# ratls gateway configuration (docs/gateway.md). Editors complete it with schemas/gateway.schema.json.
# Check it without binding a port: ratls gateway --check --config gateway.yaml
version: 1
trust:
  # SIMULATED root and collateral from ./sim (ratls sim init). For real SGX/TDX delete 'anchors'
  # (the built-in Intel SGX Root CA is the default) and use 'pccs: https://your-pccs:8081/'.
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
audit: { file: ./audit.jsonl }        # one JSON line per decision; or: stdout
admin: ${o.admin}                 # /livez /readyz /metrics open; /healthz and /console need the token
adminAuth: { tokenFile: ./admin.token }   # generated, mode 0600: curl -H "authorization: Bearer $(cat admin.token)"
listeners:
  - name: app
    listen: ${o.listen}
    # The gateway's own RA-TLS certificate (simulated here), which clients may attest in turn.
    tls: { cert: ./gateway.crt, key: ./gateway.key }
    forward: { http: ${o.backend} }   # or { tcp: 127.0.0.1:6379 } or { unix: /run/app.sock }
`;
}

/**
 * Writes the scaffold into `dir` (created if missing); refuses to overwrite without `force`.
 * @example const s = await scaffold('./ratls-gw', {}); s.files
 */
export async function scaffold(dir: string, opts: ScaffoldOptions = {}): Promise<Scaffold> {
  const root = resolve(dir);
  const gatewayPath = join(root, 'gateway.yaml');
  const policyPath = join(root, 'policy.yaml');
  if (!opts.force && (existsSync(gatewayPath) || existsSync(policyPath)))
    throw new UsageError('ERR_USAGE', `${root} already has gateway.yaml or policy.yaml (use --force to overwrite)`);
  mkdirSync(root, { recursive: true });
  const sim = await initSimulation(join(root, 'sim'));
  // As long as the simulated collateral (30 days): a scaffold should not expire within the hour.
  const validity = 30 * 86400;
  await issueSimEnclave(sim, root, 'gateway', DEMO_MEASUREMENTS.gateway, false, validity);
  await issueSimEnclave(sim, root, 'client', DEMO_MEASUREMENTS.secretReader, false, validity);
  writeFileSync(policyPath, policyText(DEMO_MEASUREMENTS.secretReader));
  // The admin token the scaffold's adminAuth names: /healthz and /console need it.
  writeFileSync(join(root, 'admin.token'), `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  writeFileSync(
    gatewayPath,
    gatewayText({
      listen: opts.listen ?? '127.0.0.1:8443',
      admin: opts.admin ?? '127.0.0.1:9090',
      backend: opts.backend ?? 'http://127.0.0.1:8080',
    }),
  );
  return {
    dir: root,
    files: [
      'gateway.yaml',
      'policy.yaml',
      'admin.token',
      'gateway.crt',
      'gateway.key',
      'client.crt',
      'client.key',
      'sim/',
    ].map((f) => join(root, f)),
  };
}
