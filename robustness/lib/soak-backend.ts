/**
 * The soak's echo backend in its own process (`npm run soak` spawns it): in the load generator's
 * process it shared one event loop with 1,000 TLS clients, and once that loop was saturated the
 * backend's accept queue filled (466 of 511 seen with `ss -ltn`) while the gateway's workers sat
 * idle waiting for it, so the soak measured its own backend, not the gateway. Prints its port on
 * stdout; ends on SIGTERM.
 */
import { echoBackend } from '@ratls/test-support/gateway-helpers';

const backend = await echoBackend();
// The echo backend keeps every request for tests; the soak only needs the answers.
setInterval(() => {
  backend.requests.length = 0;
}, 500).unref();
process.stdout.write(`${backend.port}\n`);
process.once('SIGTERM', () => {
  void backend.close().then(() => process.exit(0));
});
