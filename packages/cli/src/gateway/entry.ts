/** Standalone entry for the gateway (integration tests spawn this; `ratls gateway` is the same). */
import { runGateway } from './run.js';

const i = process.argv.indexOf('--config');
const config = i >= 0 ? process.argv[i + 1] : undefined;
if (!config) {
  process.stderr.write('usage: entry.ts --config <file>\n');
  process.exitCode = 2;
} else {
  process.exitCode = await runGateway({ config });
}
