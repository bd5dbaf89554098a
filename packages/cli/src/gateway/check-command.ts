/** Prints the result of `ratls gateway --check` (human lines, or one JSON object on stdout). */
import { toRatlsError } from '@ratls/evidence';
import type { CommandContext } from '../context.js';
import { EXIT_OK, EXIT_USAGE } from '../io.js';
import { checkGateway } from './check.js';

/**
 * Runs the check and returns the exit code: 0 valid (warnings allowed), 2 invalid.
 * @example process.exitCode = await runCheck('/etc/ratls/gateway.yaml', ctx, false)
 */
export async function runCheck(config: string, ctx: CommandContext, json: boolean): Promise<number> {
  try {
    const r = await checkGateway(config, Date.now());
    if (json) ctx.out(JSON.stringify(r));
    else {
      ctx.out(`${r.config}: configuration OK, ${r.listeners.length} listener(s); no port was bound`);
      for (const l of r.listeners)
        ctx.out(`  ${l.name}  ${l.listen} → ${l.forward}  policy ${l.policy} (${l.policyHash.slice(0, 12)}…)`);
      for (const w of r.warnings) ctx.err(`warning: ${w}`);
    }
    return EXIT_OK;
  } catch (e) {
    const r = toRatlsError(e, 'ERR_GATEWAY_CONFIG', 'config');
    if (json) ctx.out(JSON.stringify({ ok: false, error: { code: r.code, step: r.step, message: r.message } }));
    else ctx.err(`ratls gateway --check: ${r.code}: ${r.message}`);
    return EXIT_USAGE;
  }
}
