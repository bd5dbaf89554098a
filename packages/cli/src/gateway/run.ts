/**
 * `ratls gateway --config <file>`: runs the gateway in the foreground until SIGTERM or SIGINT
 * (graceful shutdown, exit 0); SIGHUP reopens the audit file and reloads; SIGUSR2 reopens the
 * audit file (logrotate's rename + signal); SIGUSR1 is caught so Node's inspector never opens in
 * the process that holds the TLS keys. Prints one ready line on stderr once every
 * listener is bound, e.g. `ratls gateway ready: api=127.0.0.1:8443 admin=127.0.0.1:9090`.
 */

import { toRatlsError } from '@ratls/evidence';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { EXIT_OK, EXIT_USAGE } from '../io.js';
import { runCheck } from './check-command.js';
import { formatHostPort } from './config/config.js';
import { type Gateway, type StartGatewayOptions, startGateway } from './gateway.js';

export interface RunGatewayOptions extends StartGatewayOptions {
  config: string;
  /** Where the ready line and fatal errors go (default stderr). */
  err?: (line: string) => void;
  /** Called once started (tests, embedding). */
  onReady?: (gw: Gateway) => void;
}

/** SIGUSR1 does nothing here; its being handled is what keeps the inspector closed. */
function ignoreInspectorSignal(): void {
  process.stderr.write(
    `${JSON.stringify({ level: 'warn', time: new Date().toISOString(), msg: 'SIGUSR1 ignored: the inspector stays closed' })}\n`,
  );
}

/** The ready line for a running gateway. */
export function readyLine(gw: Gateway): string {
  const parts = Object.entries(gw.addresses()).map(([name, a]) => `${name}=${formatHostPort(a)}`);
  return `ratls gateway ready: ${parts.join(' ')}`;
}

/**
 * Starts the gateway and resolves with the exit code once it has shut down.
 * @example process.exitCode = await runGateway({ config: '/etc/ratls/gateway.yaml' })
 */
export async function runGateway(opts: RunGatewayOptions): Promise<number> {
  const err = opts.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  // Node 20 opens its inspector on 127.0.0.1:9229 on SIGUSR1 unless a listener is installed: anyone
  // allowed to signal this process could then run code beside the listeners' private keys. Installed
  // before anything slow (startup), removed never: it stays for the life of the process.
  process.on('SIGUSR1', ignoreInspectorSignal);
  let gw: Gateway;
  try {
    gw = await startGateway(opts.config, opts);
  } catch (e) {
    const r = toRatlsError(e, 'ERR_GATEWAY_START', 'config');
    err(`ratls gateway: ${r.code}: ${r.message}`);
    return EXIT_USAGE;
  }
  err(readyLine(gw));
  opts.onReady?.(gw);
  return new Promise<number>((resolve) => {
    const reopen = (sig: string) =>
      gw.reopenAudit().catch((e: unknown) => {
        err(`ratls gateway: ${sig}: audit log not reopened, still writing to the old file: ${String(e)}`);
      });
    // logrotate renames the file, then signals: SIGHUP (ghostunnel's, nginx's habit) reopens and
    // reloads; SIGUSR2 only reopens.
    const onHup = () => void reopen('SIGHUP').then(() => gw.reload());
    const onUsr2 = () => void reopen('SIGUSR2');
    const onStop = (sig: string) => () => {
      err(`ratls gateway: ${sig}: draining and shutting down`);
      process.off('SIGHUP', onHup);
      process.off('SIGUSR2', onUsr2);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      gw.close().then(
        () => resolve(EXIT_OK),
        (e: unknown) => {
          err(`ratls gateway: shutdown failed: ${String(e)}`);
          resolve(EXIT_USAGE);
        },
      );
    };
    const onTerm = onStop('SIGTERM');
    const onInt = onStop('SIGINT');
    process.on('SIGHUP', onHup);
    process.on('SIGUSR2', onUsr2);
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}

/**
 * Adds `gateway --config <file>` to the CLI.
 * @example registerGatewayCommand(program, ctx)
 */
export function registerGatewayCommand(program: Command, ctx: CommandContext): void {
  program
    .command('gateway')
    .description('verifying reverse proxy: attested TLS in front of HTTP, TCP or UNIX-socket backends')
    .requiredOption('--config <file>', 'gateway YAML configuration (see docs/gateway.md)')
    .option('--check', 'validate the configuration and every file it names, then exit 0 (valid) or 2; binds no port')
    .option('--json', 'with --check: print one JSON object on stdout')
    .action(async (flags: { config: string; check?: boolean; json?: boolean }) => {
      const config = flags.config;
      if (flags.check) {
        ctx.exitCode = await runCheck(config, ctx, flags.json === true);
        return;
      }
      ctx.exitCode = await runGateway({ config, err: ctx.err });
    });
}
