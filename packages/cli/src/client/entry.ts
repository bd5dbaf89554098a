/** Standalone entry for `ratls client` (integration tests spawn this; `ratls client` is the same). */
import { runClient } from './run.js';

const i = process.argv.indexOf('--config');
const config = i >= 0 ? process.argv[i + 1] : undefined;
if (!config) {
  process.stderr.write('usage: entry.ts --config <file>\n');
  process.exitCode = 2;
} else {
  process.exitCode = await runClient({ config });
}
