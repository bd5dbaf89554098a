/**
 * `ratls gateway --config <file>`: runs the gateway in the foreground until SIGTERM or SIGINT
 * (graceful shutdown, exit 0); SIGHUP reopens the audit file and reloads; SIGUSR2 reopens the
 * audit file (logrotate's rename + signal); SIGUSR1 is caught so Node's inspector never opens in
 * the process that holds the TLS keys. Every stderr line is one JSON object (log.ts), the ready
 * line too once every listener is bound, e.g.
 * `{"level":"info","time":"…","addresses":{…},"msg":"ratls gateway ready: api=127.0.0.1:8443 admin=127.0.0.1:9090"}`.
 */

import { toRatlsError } from '@ratls/evidence';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { EXIT_OK, EXIT_USAGE } from '../io.js';
import { RATLS_VERSION } from '../version.js';
import { runCheck } from './check-command.js';
import { formatHostPort } from './config/config.js';
import { type Gateway, type StartGatewayOptions, startGateway } from './gateway.js';
import { type GatewayLog, isLogLevel, LOG_LEVELS, type OperationalLog, operationalLog, setLogLevel } from './log.js';

export interface RunGatewayOptions extends StartGatewayOptions {
  config: string;
  /**
   * Where the operational log's JSON lines go, the ready line and fatal errors among them (default
   * stderr). Ignored when `log` is given.
   */
  err?: (line: string) => void;
  /** Called once started (tests, embedding). */
  onReady?: (gw: Gateway) => void;
}

/** A caller's GatewayLog with lifecycle lines at info, or the operational log on `err`/stderr. */
export function logFor(opts: { log?: GatewayLog; err?: (line: string) => void }): OperationalLog {
  const given = opts.log;
  if (given) return { log: given, lifecycle: (msg, fields) => given('info', msg, fields) };
  return operationalLog(opts.err);
}

/**
 * Applies `--log-level`: a known level, or a usage error naming the choices.
 * @example if (!applyLogLevel(flags.logLevel, ctx.err)) return EXIT_USAGE
 */
export function applyLogLevel(level: string | undefined, err: (line: string) => void): boolean {
  if (level === undefined) return true;
  if (!isLogLevel(level)) {
    err(`ratls: --log-level ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(', ')}`);
    return false;
  }
  setLogLevel(level);
  return true;
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
  const { log, lifecycle } = logFor(opts);
  // Node 20 opens its inspector on 127.0.0.1:9229 on SIGUSR1 unless a listener is installed: anyone
  // allowed to signal this process could then run code beside the listeners' private keys. Installed
  // before anything slow (startup), removed never: it stays for the life of the process.
  // SIGUSR1 does nothing else; its being handled is what keeps the inspector closed.
  process.on('SIGUSR1', () => log('warn', 'SIGUSR1 ignored: the inspector stays closed'));
  log('info', 'ratls gateway starting', { config: opts.config, version: RATLS_VERSION, pid: process.pid });
  let gw: Gateway;
  try {
    gw = await startGateway(opts.config, { ...opts, log });
  } catch (e) {
    const r = toRatlsError(e, 'ERR_GATEWAY_START', 'config');
    log('error', `ratls gateway: ${r.code}: ${r.message}`, { code: r.code });
    return EXIT_USAGE;
  }
  return new Promise<number>((resolve) => {
    const reopen = (sig: string) =>
      gw.reopenAudit().catch((e: unknown) => {
        log('error', `ratls gateway: ${sig}: audit log not reopened, still writing to the old file`, {
          error: String(e),
        });
      });
    // logrotate renames the file, then signals: SIGHUP (ghostunnel's, nginx's habit) reopens and
    // reloads; SIGUSR2 only reopens.
    const onHup = () => void reopen('SIGHUP').then(() => gw.reload());
    const onUsr2 = () => void reopen('SIGUSR2');
    const onStop = (sig: string) => () => {
      lifecycle(`ratls gateway: ${sig}: draining and shutting down`, { signal: sig });
      process.off('SIGHUP', onHup);
      process.off('SIGUSR2', onUsr2);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      gw.close().then(
        () => resolve(EXIT_OK),
        (e: unknown) => {
          log('error', 'ratls gateway: shutdown failed', { error: String(e) });
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
    // Announced only once the handlers are in place: a supervisor may signal as soon as it reads it.
    lifecycle(readyLine(gw), { addresses: gw.addresses() });
    opts.onReady?.(gw);
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
    .option('--log-level <level>', `operational log level on stderr: ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (flags: { config: string; check?: boolean; json?: boolean; logLevel?: string }) => {
      const config = flags.config;
      if (!applyLogLevel(flags.logLevel, ctx.err)) {
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      if (flags.check) {
        ctx.exitCode = await runCheck(config, ctx, flags.json === true);
        return;
      }
      ctx.exitCode = await runGateway({ config, err: ctx.err });
    });
}
