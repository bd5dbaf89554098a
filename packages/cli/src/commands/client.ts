/**
 * `ratls client --config <file>`: local listeners for unmodified programs inside the enclave,
 * each tunnelled over attested TLS to its server (see docs/client.md).
 */
import type { Command } from 'commander';
import { runClient } from '../client/run.js';
import type { CommandContext } from '../context.js';

/**
 * Adds `client --config <file>` to the CLI.
 * @example registerClient(program, ctx)
 */
export function registerClient(program: Command, ctx: CommandContext): void {
  program
    .command('client')
    .description('enclave-side tunnel: local UNIX/loopback listeners forwarded over attested TLS (mutual)')
    .requiredOption('--config <file>', 'client YAML configuration (see docs/client.md)')
    .action(async (flags: { config: string }) => {
      ctx.exitCode = await runClient({ config: flags.config, err: ctx.err });
    });
}
