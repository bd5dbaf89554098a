/** Issue 16: one JSON log format on stderr (pino), level chosen by `--log-level`. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initSimulation } from '@ratls/sim';
import {
  type EchoBackend,
  echoBackend,
  simCert,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { createOperationalLogger, isLogLevel, setLogLevel } from './log.js';
import { applyLogLevel, runGateway } from './run.js';

interface LogLine {
  level: unknown;
  time: unknown;
  msg: unknown;
  [k: string]: unknown;
}

/** Every non-empty stderr line as a parsed object; fails on the first line that is not JSON. */
function parseLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        return assert.fail(`not a JSON line: ${l}`);
      }
    });
}

function assertShape(lines: LogLine[]): void {
  for (const l of lines) {
    assert.ok(typeof l.level === 'string' && isLogLevel(l.level), `level label: ${JSON.stringify(l)}`);
    assert.ok(
      typeof l.time === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(l.time),
      `ISO time: ${l.time}`,
    );
    assert.equal(typeof l.msg, 'string');
  }
}

describe('operational log', () => {
  it('writes level as a label, time as ISO, msg, then the fields, and drops lines below its level', () => {
    const out: string[] = [];
    const l = createOperationalLogger('warn', { write: (s: string) => void out.push(s) });
    l.info('hidden');
    l.warn({ listener: 'api' }, 'limit hit: idle_timeout');
    assert.equal(out.length, 1);
    const o = JSON.parse(out[0] as string) as Record<string, unknown>;
    assert.deepEqual(Object.keys(o).sort(), ['level', 'listener', 'msg', 'time']);
    assert.equal(o.level, 'warn');
    assert.equal(o.msg, 'limit hit: idle_timeout');
  });

  it('--log-level with an unknown level is a usage error naming the choices', () => {
    const err: string[] = [];
    assert.equal(
      applyLogLevel('loud', (l) => void err.push(l)),
      false,
    );
    assert.match(err.join('\n'), /--log-level "loud" is not one of debug, info, warn, error/);
  });
});

describe('gateway stderr (spawned; the primary and its workers)', () => {
  let dir: string;
  let backend: EchoBackend;

  before(async () => {
    dir = tempDir('ratls-gw-log-');
    const sim = join(dir, 'sim');
    await initSimulation(sim);
    await simCert(sim, join(dir, 'server'), { mrEnclave: '11'.repeat(32), subject: 'gateway' });
    backend = await echoBackend();
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults:\n  simulated: true\nidentities:\n  - name: p\n    sgx: { mrEnclave: ["${'11'.repeat(32)}"] }\n`,
    );
    const config = (workers: number) => `version: 1
workers: ${workers}
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
limits: { drainTimeoutMs: 1000 }
listeners:
  - name: api
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
`;
    writeFile(dir, 'gateway.yaml', config(2));
    writeFile(dir, 'gateway-1.yaml', config(1));
  });

  after(async () => {
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('every line, ready and shutdown included, is JSON with level, time and msg', async () => {
    const gw = await spawnGateway(join(dir, 'gateway.yaml'), 90_000);
    assert.equal(await gw.stop('SIGTERM'), 0);
    const lines = parseLines(gw.stderr());
    assertShape(lines);
    const msgs = lines.map((l) => l.msg as string);
    assert.ok(msgs.includes('ratls gateway starting'), msgs.join('\n'));
    assert.ok(msgs.some((m) => /^ratls gateway ready: api=127\.0\.0\.1:\d+$/.test(m)));
    assert.ok(lines.some((l) => l.level === 'warn' && l.warning === 'simulated_anchor'));
    assert.ok(msgs.some((m) => /SIGTERM: draining/.test(m)));
  });

  it('--log-level warn hides info lines but keeps warnings and the ready line (in process, workers: 1)', async () => {
    const out: string[] = [];
    setLogLevel('warn');
    try {
      const code = await runGateway({
        config: join(dir, 'gateway-1.yaml'),
        err: (l) => void out.push(l),
        watch: false,
        // The handlers runGateway installed: what a real SIGTERM would call.
        onReady: () => void setImmediate(() => process.emit('SIGTERM')),
      });
      assert.equal(code, 0);
    } finally {
      setLogLevel('info');
    }
    const lines = parseLines(out.join('\n'));
    assertShape(lines);
    const msgs = lines.map((l) => l.msg as string);
    assert.ok(!msgs.includes('ratls gateway starting'), msgs.join('\n'));
    assert.ok(lines.some((l) => l.level === 'warn' && l.warning === 'simulated_anchor'));
    assert.ok(msgs.some((m) => /^ratls gateway ready: api=/.test(m)));
    assert.ok(msgs.some((m) => /SIGTERM: draining/.test(m)));
  });
});
