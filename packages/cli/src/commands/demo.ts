/** `ratls demo [--serve] [--keep]`: the scripted end-to-end run (the README's main command). */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { DEMO_PORTS, runDemo } from '../demo/demo.js';
import { UsageError } from '../io.js';

export function registerDemo(program: Command, ctx: CommandContext): void {
  program
    .command('demo')
    .description('scripted end-to-end run on a simulated TEE: gateway, policy, an allowed enclave and two refused ones')
    .option('--serve', 'keep everything running and print ready-to-paste curl commands')
    .option('--keep', 'keep the working folder (certificates, policy, audit log) afterwards; its path is printed')
    .option('--port <n>', 'the gateway port on 127.0.0.1 (0: any free port)', String(DEMO_PORTS.gateway))
    .option('--admin-port <n>', 'the admin port (/healthz, /metrics; 0: any free port)', String(DEMO_PORTS.admin))
    .action(async (flags: { serve?: boolean; keep?: boolean; port: string; adminPort: string }) => {
      const port = (v: string, what: string): number => {
        if (!/^\d{1,5}$/.test(v) || Number(v) > 65535) throw new UsageError('ERR_USAGE', `${what}: expected 0-65535`);
        return Number(v);
      };
      const ports = { gateway: port(flags.port, '--port'), admin: port(flags.adminPort, '--admin-port') };
      ctx.exitCode = await runDemo({
        ...(flags.serve ? { serve: true } : {}),
        ...(flags.keep ? { keep: true } : {}),
        ports,
        out: ctx.out,
      });
    });
}
