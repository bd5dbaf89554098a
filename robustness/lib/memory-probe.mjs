/**
 * Preloaded into every gateway process by `npm run soak` (NODE_OPTIONS="--expose-gc --import …",
 * which cluster workers inherit). On SIGUSR2 it forces two full GCs (the second collects what the
 * first's finalizers released) and writes `process.memoryUsage()` to
 * `$RATLS_SOAK_PROBE_DIR/mem-<pid>-<n>.json`, so the soak compares V8 heap and external memory
 * after GC, not what the collector has not got round to. Soak only: never loaded by the gateway
 * itself.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.RATLS_SOAK_PROBE_DIR;
const gc = globalThis.gc;
if (dir && typeof gc === 'function') {
  let n = 0;
  process.on('SIGUSR2', () => {
    gc();
    gc();
    const file = join(dir, `mem-${process.pid}-${++n}.json`);
    // Written whole, then renamed: the soak never reads half a file.
    writeFileSync(`${file}.tmp`, JSON.stringify(process.memoryUsage()));
    renameSync(`${file}.tmp`, file);
  });
}
