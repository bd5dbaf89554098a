/** A cluster worker's entry: the primary (cluster.ts) forks this with `--config <file>`. */
import { runWorker } from './worker.js';

const i = process.argv.indexOf('--config');
await runWorker(process.argv[i + 1] ?? '');
