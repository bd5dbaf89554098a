/**
 * HAProxy as the gateway's peer in `npm run bench` (Debian's /usr/sbin/haproxy, when installed).
 * The configuration makes the comparison fair: the same certificate, key and client-certificate
 * pin as the gateway, TLS 1.3 only with one cipher suite (the client also offers only that one),
 * no session tickets and no session cache (no resumption), `nbthread` set by the caller, and the
 * same plain TCP sink behind it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';

export const HAPROXY = process.env.RATLS_BENCH_HAPROXY ?? '/usr/sbin/haproxy';
/** The one TLS 1.3 suite both terminators negotiate (the client offers only this one). */
export const BENCH_CIPHERSUITE = 'TLS_AES_128_GCM_SHA256';

/** The HAProxy version line, or undefined when it is not installed. */
export function haproxyVersion(): string | undefined {
  const r = spawnSync(HAPROXY, ['-v'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split('\n')[0] : undefined;
}

export interface HaproxyProcess {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** Waits until something accepts TCP connections on `port` (bounded). */
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
 * Starts HAProxy terminating mutual TLS on `port` and forwarding to `backendPort`.
 * `clientCa` pins the client's (self-signed) certificate, as the gateway's policy pins its quote.
 */
export async function startHaproxy(o: {
  dir: string;
  name: string;
  port: number;
  backendPort: number;
  cert: string;
  key: string;
  clientCa: string;
  nbthread: number;
}): Promise<HaproxyProcess> {
  const pem = join(o.dir, `${o.name}.pem`);
  writeFileSync(pem, `${readFileSync(o.cert, 'utf8')}\n${readFileSync(o.key, 'utf8')}`, { mode: 0o600 });
  const cfg = join(o.dir, `${o.name}.cfg`);
  writeFileSync(
    cfg,
    `global
  nbthread ${o.nbthread}
  maxconn 4000
  tune.ssl.cachesize 0
  ssl-default-bind-ciphersuites ${BENCH_CIPHERSUITE}
  ssl-default-bind-options ssl-min-ver TLSv1.3 no-tls-tickets
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend tls
  bind 127.0.0.1:${o.port} ssl crt ${pem} ca-file ${o.clientCa} verify required
  default_backend sink
backend sink
  server sink 127.0.0.1:${o.backendPort}
`,
  );
  const check = spawnSync(HAPROXY, ['-c', '-q', '-f', cfg], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`haproxy -c refused the bench configuration:\n${check.stderr}`);
  const child = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await waitListening(o.port, 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${(e as Error).message}\n${err}`);
  }
  return {
    child,
    port: o.port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(t);
    },
  };
}
