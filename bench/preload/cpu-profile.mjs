/**
 * Preloaded into every gateway process by `bench/gateway.ts --profile DIR` (through
 * NODE_OPTIONS="--import …", which cluster workers inherit; `--cpu-prof` itself is not allowed in
 * NODE_OPTIONS). Starts the V8 CPU profiler at once and writes `DIR/gateway-<pid>.cpuprofile` on
 * exit (`RATLS_BENCH_PROFILE_NAME` replaces `gateway`: the bench's Node TLS proxy), the same format `--cpu-prof` writes (Chrome DevTools, speedscope). Bench only: never
 * loaded by the gateway itself.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.RATLS_BENCH_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  // A same-thread inspector session answers synchronously, so this works inside 'exit'.
  process.once('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err)
        writeFileSync(
          join(dir, `${process.env.RATLS_BENCH_PROFILE_NAME ?? 'gateway'}-${process.pid}.cpuprofile`),
          JSON.stringify(res.profile),
        );
    });
  });
}
