/**
 * Runs `ratls client` in the foreground until SIGTERM or SIGINT (drain, exit 0); SIGHUP reloads.
 * Prints one ready line on stderr once every listener is bound, e.g.
 * `ratls client ready: redis=unix:/run/ratls/redis.sock admin=127.0.0.1:9091`.
 */
import { toRatlsError } from '@ratls/evidence';
import { EXIT_OK, EXIT_USAGE } from '../io.js';
import { type Client, type StartClientOptions, startClient } from './client.js';
import type { LocalAddress } from './config.js';

export interface RunClientOptions extends StartClientOptions {
  config: string;
  /** Where the ready line and fatal errors go (default stderr). */
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
  const err = opts.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  let c: Client;
  try {
    c = await startClient(opts.config, opts);
  } catch (e) {
    const r = toRatlsError(e, 'ERR_CLIENT_START', 'config');
    err(`ratls client: ${r.code}: ${r.message}`);
    return EXIT_USAGE;
  }
  err(clientReadyLine(c));
  opts.onReady?.(c);
  return new Promise<number>((resolve) => {
    const onHup = () => void c.reload();
    const onStop = (sig: string) => () => {
      err(`ratls client: ${sig}: draining and shutting down`);
      process.off('SIGHUP', onHup);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      c.close().then(
        () => resolve(EXIT_OK),
        (e: unknown) => {
          err(`ratls client: shutdown failed: ${String(e)}`);
          resolve(EXIT_USAGE);
        },
      );
    };
    const onTerm = onStop('SIGTERM');
    const onInt = onStop('SIGINT');
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}
