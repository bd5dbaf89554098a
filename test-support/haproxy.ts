/**
 * A real HAProxy (Debian's /usr/sbin/haproxy) in front of a fleet of gateways, as docs/gateway.md
 * describes it: TCP mode, round-robin, `send-proxy-v2` to each gateway's attested listener and an
 * HTTP health check of each gateway's admin `/readyz` (`check port <admin>`; /healthz needs the
 * admin token, and a balancer should not pull a gateway for a warning anyway). The configuration
 * is validated with `haproxy -c` before it is started in the foreground (`-db`), and the process
 * is always stopped by the test that started it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

/** Where Debian installs HAProxy (`RATLS_HAPROXY` overrides). */
export const HAPROXY_BIN = process.env.RATLS_HAPROXY ?? '/usr/sbin/haproxy';

/**
 * Skip reason for HAProxy tests: undefined when the binary is present, or when CI must fail
 * without it (CI installs it; absence there is a failure, not a skip).
 * @example describe('fleet', { skip: haproxySkip() ?? false }, () => {})
 */
export function haproxySkip(): string | undefined {
  if (existsSync(HAPROXY_BIN) || process.env.CI) return undefined;
  return `haproxy not installed (${HAPROXY_BIN}); apt-get install haproxy`;
}

export interface FleetMember {
  /** The gateway's attested listener port (PROXY v2 in). */
  port: number;
  /** The gateway's admin port (GET /readyz). */
  adminPort: number;
}

/**
 * The HAProxy configuration for a fleet (the one docs/gateway.md shows).
 * @example fleetHaproxyConfig(8443, [{ port: 9443, adminPort: 9090 }, { port: 9444, adminPort: 9091 }])
 */
export function fleetHaproxyConfig(frontPort: number, members: readonly FleetMember[], checkIntervalMs = 300): string {
  const servers = members
    .map(
      (m, i) =>
        `  server gw${i + 1} 127.0.0.1:${m.port} send-proxy-v2 check port ${m.adminPort} inter ${checkIntervalMs} fall 1 rise 1`,
    )
    .join('\n');
  return `global
  maxconn 2000
defaults
  mode tcp
  timeout connect 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch 1
frontend ratls
  bind 127.0.0.1:${frontPort}
  default_backend gateways
backend gateways
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
${servers}
`;
}

export interface HaproxyFleet {
  port: number;
  child: ChildProcess;
  config: string;
  stop(): Promise<void>;
}

async function waitListening(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`haproxy not listening on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Validates and starts HAProxy for `members` on `frontPort`; resolves once it accepts.
 * @example const lb = await startHaproxyFleet(dir, port, members); … await lb.stop();
 */
export async function startHaproxyFleet(
  dir: string,
  frontPort: number,
  members: readonly FleetMember[],
  checkIntervalMs = 300,
): Promise<HaproxyFleet> {
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(config, fleetHaproxyConfig(frontPort, members, checkIntervalMs));
  const check = spawnSync(HAPROXY_BIN, ['-c', '-f', config], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c refused the configuration:\n${check.stdout}${check.stderr}`);
  const child = spawn(HAPROXY_BIN, ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString('utf8');
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await waitListening(frontPort, 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${err}`);
  }
  return {
    port: frontPort,
    child,
    config,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}
