/** `ratls init <dir>`: scaffolds a gateway, a policy and a simulated TEE, ready for `--check` and a run. */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { scaffold } from '../init/scaffold.js';
import { EXIT_OK } from '../io.js';

export function registerInit(program: Command, ctx: CommandContext): void {
  program
    .command('init')
    .description('scaffold gateway.yaml, policy.yaml and a simulated TEE in <dir> (commented, ready to run)')
    .argument('<dir>')
    .option('--listen <host:port>', 'the gateway listener', '127.0.0.1:8443')
    .option('--admin <host:port>', 'the admin endpoint (/healthz, /metrics)', '127.0.0.1:9090')
    .option('--backend <url>', 'the HTTP service to put behind the gateway', 'http://127.0.0.1:8080')
    .option('--force', 'overwrite an existing gateway.yaml and policy.yaml')
    .action(async (dir: string, flags: { listen: string; admin: string; backend: string; force?: boolean }) => {
      const s = await scaffold(dir, flags);
      ctx.out(`created in ${s.dir}:`);
      for (const f of s.files) ctx.out(`  ${f}`);
      ctx.err('WARNING: the trust anchor is a SIMULATED root (./sim): for development only.');
      ctx.out('next:');
      ctx.out(`  ratls gateway --check --config ${s.dir}/gateway.yaml`);
      ctx.out(`  ratls gateway --config ${s.dir}/gateway.yaml`);
      ctx.out(`  curl -sk --cert ${s.dir}/client.crt --key ${s.dir}/client.key https://${flags.listen}/`);
      ctx.exitCode = EXIT_OK;
    });
}
