/**
 * `ratls client --config <file>`: local listeners for unmodified programs inside the enclave,
 * each tunnelled over attested TLS to its server (see docs/client.md).
 */
import type { Command } from 'commander';
import { runClientCheck } from '../client/check.js';
import { runClient } from '../client/run.js';
import type { CommandContext } from '../context.js';
import { LOG_LEVELS } from '../gateway/log.js';
import { applyLogLevel } from '../gateway/run.js';
import { EXIT_USAGE } from '../io.js';

/**
 * Adds `client --config <file>` to the CLI.
 * @example registerClient(program, ctx)
 */
export function registerClient(program: Command, ctx: CommandContext): void {
  program
    .command('client')
    .description('enclave-side tunnel: local UNIX/loopback listeners forwarded over attested TLS (mutual)')
    .requiredOption('--config <file>', 'client YAML configuration (see docs/client.md)')
    .option('--check', 'validate the configuration and every file it names, then exit 0 (valid) or 2; binds nothing')
    .option('--json', 'with --check: print one JSON object on stdout')
    .option('--log-level <level>', `operational log level on stderr: ${LOG_LEVELS.join(', ')}`, 'info')
    .action(async (flags: { config: string; check?: boolean; json?: boolean; logLevel?: string }) => {
      if (flags.check) {
        ctx.exitCode = await runClientCheck(flags.config, ctx, flags.json === true);
        return;
      }
      if (!applyLogLevel(flags.logLevel, ctx.err)) {
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      ctx.exitCode = await runClient({ config: flags.config, err: ctx.err });
    });
}
