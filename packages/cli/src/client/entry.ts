/** Standalone entry for `ratls client` (integration tests spawn this; `ratls client` is the same). */
import { applyLogLevel } from '../gateway/run.js';
import { runClient } from './run.js';

const flag = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const config = flag('--config');
const err = (l: string) => process.stderr.write(`${l}\n`);
if (!config) {
  err('usage: entry.ts --config <file> [--log-level debug|info|warn|error]');
  process.exitCode = 2;
} else if (!applyLogLevel(flag('--log-level'), err)) {
  process.exitCode = 2;
} else {
  process.exitCode = await runClient({ config });
}
