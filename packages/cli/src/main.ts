/** The `ratls` command line. Exit codes: 0 verified/accepted, 1 refused/rejected, 2 usage or unreadable input. */
import cluster from 'node:cluster';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerAttest } from './commands/attest.js';
import { registerClient } from './commands/client.js';
import { registerCollateral } from './commands/collateral.js';
import { registerDemo } from './commands/demo.js';
import { registerIdentity } from './commands/identity.js';
import { registerIdentityCa } from './commands/identity-ca.js';
import { registerInit } from './commands/init.js';
import { registerInspect } from './commands/inspect.js';
import { registerPolicy } from './commands/policy.js';
import { registerReport } from './commands/report.js';
import { registerSim } from './commands/sim.js';
import { registerVerifyCert } from './commands/verify-cert.js';
import { registerVerifyQuote } from './commands/verify-quote.js';
import type { CommandContext } from './context.js';
import { CLUSTER_WORKER_ENV } from './gateway/cluster.js';
import { registerGatewayCommand } from './gateway/index.js';
import { runWorker } from './gateway/worker.js';
import { callerCwd, EXIT_USAGE, errorJson, UsageError } from './io.js';
import { RATLS_VERSION } from './version.js';

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('ratls')
    .description('attested TLS: RA-TLS certificates, quote verification, policy, gateway, client')
    .version(RATLS_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s.trimEnd()), writeErr: (s) => ctx.err(s.trimEnd()) });
  registerVerifyQuote(program, ctx);
  registerInspect(program, ctx);
  registerVerifyCert(program, ctx);
  registerPolicy(program, ctx);
  registerSim(program, ctx);
  registerDemo(program, ctx);
  registerInit(program, ctx);
  registerGatewayCommand(program, ctx);
  registerClient(program, ctx);
  registerAttest(program, ctx);
  registerIdentity(program, ctx);
  registerCollateral(program, ctx);
  registerReport(program, ctx);
  registerIdentityCa(program, ctx);
  return program;
}

/**
 * Runs the CLI and resolves to the exit code (never calls process.exit itself).
 * @example process.exitCode = await main(process.argv)
 */
export async function main(argv: string[], io: Partial<Pick<CommandContext, 'out' | 'err'>> = {}): Promise<number> {
  const ctx: CommandContext = {
    out: io.out ?? ((l) => process.stdout.write(`${l}\n`)),
    err: io.err ?? ((l) => process.stderr.write(`${l}\n`)),
    exitCode: 0,
  };
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv);
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    // With --json the error is the output: one object on stdout, so `… --json | jq` sees it.
    if (argv.includes('--json')) ctx.out(JSON.stringify({ ok: false, error: errorJson(e) }));
    if (e instanceof UsageError) {
      ctx.err(`error: ${e.message}`);
      return EXIT_USAGE;
    }
    ctx.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return EXIT_USAGE;
  }
}

function isEntryPoint(): boolean {
  const argv1 = process.argv[1];
  if (!argv1) return false;
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/**
 * What the `ratls` binary does: caller's folder, quiet EPIPE, exit code. The bin shim and the
 * single-file bundle call this; importing main.ts for `main()` does not.
 * @example await runCli()
 */
export async function runCli(): Promise<void> {
  // `ratls inspect x | head` closes stdout early; that is not an error worth a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  // Relative paths mean the caller's folder, also through `npm run ratls -- …` (see callerCwd).
  const cwd = callerCwd(process.env, process.cwd());
  if (cwd !== process.cwd()) process.chdir(cwd);
  process.exitCode = await main(process.argv);
}

// A gateway worker forked by the single-file bundle starts here too (cluster.ts forks the bundle).
if (isEntryPoint()) {
  if (cluster.isWorker && process.env[CLUSTER_WORKER_ENV] === '1') {
    const i = process.argv.indexOf('--config');
    void runWorker(process.argv[i + 1] ?? '');
  } else void runCli();
}
