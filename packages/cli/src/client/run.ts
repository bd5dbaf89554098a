/**
 * Runs `ratls client` in the foreground until SIGTERM or SIGINT (drain, exit 0); SIGHUP reloads.
 * Every stderr line is one JSON object (the gateway's operational log, gateway/log.ts), the ready
 * line too once every listener is bound, its `msg` e.g.
 * `ratls client ready: redis=unix:/run/ratls/redis.sock admin=127.0.0.1:9091`.
 */
import { toRatlsError } from '@ratls/evidence';
import { logFor } from '../gateway/run.js';
import { EXIT_OK, EXIT_USAGE } from '../io.js';
import { type Client, type StartClientOptions, startClient } from './client.js';
import type { LocalAddress } from './config.js';

export interface RunClientOptions extends StartClientOptions {
  config: string;
  /** Where the operational log's JSON lines go, ready line and fatal errors included (default stderr). */
  err?: (line: string) => void;
  onReady?: (c: Client) => void;
}

function formatLocal(a: LocalAddress): string {
  if (a.kind === 'unix') return `unix:${a.path}`;
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * The ready line for a running client.
 * @example clientReadyLine(c) // 'ratls client ready: redis=unix:/run/ratls/redis.sock'
 */
export function clientReadyLine(c: Client): string {
  const parts = Object.entries(c.addresses()).map(([name, a]) => `${name}=${formatLocal(a)}`);
  return `ratls client ready: ${parts.join(' ')}`;
}

/**
 * Starts the client and resolves with the exit code once it has shut down.
 * @example process.exitCode = await runClient({ config: '/etc/ratls/client.yaml' })
 */
export async function runClient(opts: RunClientOptions): Promise<number> {
  const { log, lifecycle } = logFor(opts);
  let c: Client;
  try {
    c = await startClient(opts.config, { ...opts, log });
  } catch (e) {
    const r = toRatlsError(e, 'ERR_CLIENT_START', 'config');
    log('error', `ratls client: ${r.code}: ${r.message}`, { code: r.code });
    return EXIT_USAGE;
  }
  return new Promise<number>((resolve) => {
    const onHup = () => void c.reload();
    const onStop = (sig: string) => () => {
      lifecycle(`ratls client: ${sig}: draining and shutting down`, { signal: sig });
      process.off('SIGHUP', onHup);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      c.close().then(
        () => resolve(EXIT_OK),
        (e: unknown) => {
          log('error', 'ratls client: shutdown failed', { error: String(e) });
          resolve(EXIT_USAGE);
        },
      );
    };
    const onTerm = onStop('SIGTERM');
    const onInt = onStop('SIGINT');
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    // Announced only once the handlers are in place: a supervisor may signal as soon as it reads it.
    lifecycle(clientReadyLine(c));
    opts.onReady?.(c);
  });
}
