/**
 * The soak's impostor flood in its own process (`npm run soak -- --flood-rate R` spawns it for
 * the second half): R handshakes per second from one source. In the load generator's process
 * its client-side TLS work competed with the allowed clients' own event loop, so a flood slowed
 * the measuring side as much as the gateway. Two kinds (`kind`):
 * - `hello` (the default): one real ClientHello recorded once and replayed on each connection,
 *   read until the gateway's flight arrives, then dropped. This is the cheap flood an attacker
 *   sends: the server pays key exchange and a signature per connection, the sender a `write`,
 *   so on a shared 2-core host it measures the gateway, not the sender.
 * - `impostor`: a full TLS client with a certificate whose measurement the policy refuses (the
 *   appraisal's refusal path too, at the sender's full TLS cost). Reads one JSON line of options on argv[2]; waits `delayMs`, floods for
 * `seconds`, then prints one JSON line: attempts, impostors served (must be 0), problems, and
 * each attempt's time to close.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { runOpenLoop } from './open-loop.js';

interface FloodOptions {
  port: number;
  source: string;
  cert: string;
  key: string;
  rate: number;
  delayMs: number;
  seconds: number;
  kind: 'hello' | 'impostor';
}

const o = JSON.parse(process.argv[2] ?? '{}') as FloodOptions;
const cert = readFileSync(o.cert);
const key = readFileSync(o.key);
const out = { attempts: 0, served: 0, bad: 0, skipped: 0, cpuS: 0, problems: [] as string[], ms: [] as number[] };

/** A real ClientHello from Node's TLS client (with this certificate offered later), recorded from a local socket. */
async function recordClientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer((sock) => {
      let got = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        // One TLS record: 5-byte header, then its length (RFC 8446 §5.1).
        if (got.length >= 5 && got.length >= 5 + got.readUInt16BE(3)) {
          sock.destroy();
          server.close();
          resolve(got.subarray(0, 5 + got.readUInt16BE(3)));
        }
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, cert, key });
      c.on('error', () => {});
    });
    server.on('error', reject);
  });
}
const hello = o.kind === 'hello' ? await recordClientHello() : undefined;

/** A replayed ClientHello: resolves when the gateway answers (its flight) or closes; nothing is ever served. */
function helloAttempt(h: Buffer): Promise<void> {
  out.attempts++;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const raw = net.connect({ port: o.port, host: '127.0.0.1', localAddress: o.source });
    const guard = setTimeout(() => {
      raw.destroy();
      out.bad++;
      if (out.problems.length < 20) out.problems.push('flood: no answer or close in 90 s');
    }, 90_000);
    raw.on('error', () => {});
    raw.once('connect', () => raw.write(h));
    // The server's flight (ServerHello … Finished) means it spent the handshake's CPU: drop it there.
    raw.once('data', () => raw.destroy());
    raw.once('close', () => {
      clearTimeout(guard);
      out.ms.push(performance.now() - t0);
      resolve();
    });
  });
}

/** One impostor handshake; resolves at its close (or after 90 s, a problem). */
function attempt(): Promise<void> {
  out.attempts++;
  const t0 = performance.now();
  return new Promise((resolve) => {
    let body = '';
    let done = false;
    const finish = (why?: string) => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      if (why) out.bad++;
      if (why && out.problems.length < 20) out.problems.push(why);
      out.ms.push(performance.now() - t0);
      resolve();
    };
    const raw = net.connect({ port: o.port, host: '127.0.0.1', localAddress: o.source });
    raw.on('error', () => {});
    const s = tls.connect({ socket: raw, rejectUnauthorized: false, cert, key });
    const guard = setTimeout(() => {
      s.destroy();
      finish('flood: no outcome in 90 s');
    }, 90_000);
    s.on('secureConnect', () => s.write('GET /flood HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n'));
    s.on('data', (d: Buffer) => {
      body += d.toString('utf8');
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (body.includes('HTTP/1.1 200')) {
        out.served++;
        finish(`flood impostor served: ${body.slice(0, 80)}`);
      } else finish();
    });
  });
}

await new Promise((r) => setTimeout(r, o.delayMs));
const cpuAtStart = process.cpuUsage();
const inFlight = new Set<Promise<void>>();
out.skipped = await runOpenLoop({
  perSecond: o.rate,
  untilMs: performance.now() + o.seconds * 1000,
  start: () => (hello ? helloAttempt(hello) : attempt()),
  inFlight,
});
await Promise.all(inFlight);
const cpu = process.cpuUsage(cpuAtStart);
out.cpuS = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify(out)}\n`);
