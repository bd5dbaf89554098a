/**
 * Shared setup of the channel-mode scenarios (`ratls client` ↔ gateway, real processes): a real
 * redis-server on 127.0.0.1, the simulated-root policy text, and the handshake decisions an audit
 * file holds (read with a bounded wait, so "exactly one event" also waits for a second one).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import type { AuditEvent } from '@ratls/verifier';
import { freePort, haveBinary, run } from './gateway-helpers.js';

/** redis-server, redis-cli and curl present (in CI they must be: .ci/run installs them). */
export const HAVE_REDIS_AND_CURL = haveBinary('redis-server') && haveBinary('redis-cli') && haveBinary('curl');
/** `skip` for a describe that needs them: only outside CI, with one clear line. */
export const SKIP_WITHOUT_REDIS: false | string =
  HAVE_REDIS_AND_CURL || process.env.CI ? false : 'redis-server, redis-cli or curl not installed';

export interface RedisServer {
  port: number;
  stop(): void;
}

/** Starts a real redis-server on 127.0.0.1 (no persistence) and waits (≤ 5 s) until it answers PING. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 50; i++) {
    if ((await run('redis-cli', ['-p', String(port), 'PING'])).stdout.includes('PONG')) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, stop: () => child.kill('SIGKILL') };
}

/**
 * A policy trusting the simulator's root with one SGX identity; `freshness` is the identity's
 * own (channel: fresh evidence bound to each connection is required of that peer).
 */
export function simulatedPolicy(name: string, mrEnclave: string, freshness?: 'certificate' | 'channel'): string {
  return `version: 1\ndefaults:\n  simulated: true   # the simulator's root: tests only\nidentities:\n  - name: ${name}\n    sgx: { mrEnclave: ["${mrEnclave}"] }\n${freshness ? `    freshness: ${freshness}\n` : ''}`;
}

/** The handshake decisions (`ratls-handshake`) in a JSON-lines audit file so far. */
export function handshakeDecisions(file: string): AuditEvent[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as AuditEvent)
    .filter((e) => e.event.action === 'ratls-handshake');
}

/**
 * Waits (bounded: 10 s on a loaded machine) until `read()` holds `n` decisions after the first
 * `from`, then a little longer (a second event for the same attempt would show up), and returns them.
 */
export async function decisionsAfter(read: () => AuditEvent[], from: number, n: number): Promise<AuditEvent[]> {
  for (let i = 0; i < 100 && read().length < from + n; i++) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 300));
  return read().slice(from);
}
