/** Standalone entry for the gateway (integration tests spawn this; `ratls gateway` is the same). */
import { applyLogLevel, runGateway } from './run.js';

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
  process.exitCode = await runGateway({ config });
}
