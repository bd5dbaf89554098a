/**
 * The attacker of security finding 7, as its own process: opens `count` TCP connections from
 * `from` (a loopback address) to a listener and never sends a byte. In another process so the
 * listener under test accepts them as it would a remote attacker's, not interleaved with the
 * connecting code in one event loop.
 */
import { spawn } from 'node:child_process';

export interface IdleFlood {
  /** Resolves when every connection is established (accepted by the kernel). */
  ready: Promise<void>;
  /** How many of them the listener has closed so far (as seen by the attacker). */
  closedCount(): Promise<number>;
  stop(): Promise<void>;
}

const SCRIPT = `
const net = require('node:net');
const [port, from, n] = process.argv.slice(1).map((v, i) => (i === 1 ? v : Number(v)));
let up = 0, down = 0;
for (let i = 0; i < n; i++) {
  const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
  s.on('error', () => undefined);
  s.resume();
  s.once('connect', () => { if (++up === n) process.stdout.write('ready\\n'); });
  s.once('close', () => { down++; });
}
process.stdin.on('data', () => process.stdout.write('closed ' + down + '\\n'));
process.stdin.on('end', () => process.exit(0));
`;

/**
 * @example
 * const flood = idleFlood(port, '127.0.0.1', 1100);
 * await flood.ready; … ; await flood.stop();
 */
export function idleFlood(port: number, from: string, count: number): IdleFlood {
  const child = spawn(process.execPath, ['-e', SCRIPT, String(port), from, String(count)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: Array<(line: string) => void> = [];
  let buf = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    buf += d;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      lines.shift()?.(line);
      nl = buf.indexOf('\n');
    }
  });
  const next = () => new Promise<string>((r) => lines.push(r));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const ready = Promise.race([
    next().then(() => undefined),
    exited.then(() => {
      throw new Error('idle flood exited before its connections were up');
    }),
  ]);
  return {
    ready,
    async closedCount() {
      const line = next();
      child.stdin.write('?\n');
      return Number((await line).split(' ')[1]);
    },
    async stop() {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
    },
  };
}
