/**
 * `ratls identity-ca init --trust-domain D --out DIR`: the fleet's offline root (root.key 0600, root.pem).
 * `ratls identity-ca intermediate --root DIR --out DIR2 [--name gw-a] [--days N]`: one gateway's
 * intermediate (a new key in DIR2/ca.key, 0600; DIR2/ca.pem = intermediate then root), what the
 * gateway's `identity:` section loads. The root key is only read, in DIR, and never copied.
 */
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { createIntermediate, initFleetRoot } from '../identity/intermediate.js';
import { EXIT_OK, UsageError } from '../io.js';

function days(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,5}$/.test(v))
    throw new UsageError('ERR_USAGE', `--days ${JSON.stringify(v)} is not a whole number of days`);
  return Number(v);
}

export function registerIdentityCa(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('identity-ca')
    .description('the identity root of a gateway fleet and one intermediate per gateway (docs/identities.md, Fleet)');
  cmd
    .command('init')
    .description('make the offline root: DIR/root.key (mode 0600) and DIR/root.pem; never overwrites')
    .requiredOption('--trust-domain <domain>', 'the SPIFFE trust domain, e.g. prod.example.org')
    .requiredOption('--out <dir>', 'the folder for the root (keep it offline)')
    .action(async (f: { trustDomain: string; out: string }) => {
      const files = await initFleetRoot(f.out, f.trustDomain, Date.now());
      ctx.out(`root key   ${files.keyPath} (mode 0600; keep offline)`);
      ctx.out(`root cert  ${files.certPath} (what relying parties trust)`);
      ctx.exitCode = EXIT_OK;
    });
  cmd
    .command('intermediate')
    .description("make one gateway's intermediate (new key, name-constrained to the trust domain, pathLen 0)")
    .requiredOption('--root <dir>', 'the folder `identity-ca init` wrote')
    .requiredOption('--out <dir>', "the gateway's identity folder (ca.key, ca.pem)")
    .option('--name <name>', 'the gateway, in the intermediate subject')
    .option('--days <n>', 'lifetime in days (default 365, never past the root)')
    .action(async (f: { root: string; out: string; name?: string; days?: string }) => {
      const d = days(f.days);
      const files = await createIntermediate({
        rootDir: f.root,
        outDir: f.out,
        at: Date.now(),
        ...(f.name === undefined ? {} : { name: f.name }),
        ...(d === undefined ? {} : { days: d }),
      });
      ctx.out(`trust domain  ${files.trustDomain}`);
      ctx.out(`gateway key   ${files.keyPath} (mode 0600)`);
      ctx.out(`gateway chain ${files.certPath} (intermediate, then root; the root is not sent)`);
      ctx.exitCode = EXIT_OK;
    });
}
