/** `ratls demo [--serve] [--keep]`: the scripted end-to-end run (the README's main command). */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { runDemo } from '../demo/demo.js';

export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('scripted end-to-end run on a simulated TEE: gateway, policy, an allowed enclave and two refused ones')
    .option('--serve', 'keep everything running and print ready-to-paste curl commands')
    .option('--keep', 'keep the working folder (certificates, policy, audit log) afterwards')
    .action(async (flags: { serve?: boolean; keep?: boolean }) => {
      ctx.exitCode = await runDemo({ ...flags, out: ctx.out });
    });
}
