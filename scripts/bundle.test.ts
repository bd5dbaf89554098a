/**
 * The single-file CLI (npm run bundle): built into a temporary folder, copied alone into another
 * with no node_modules anywhere above it, it answers --help and runs the whole demo.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ratls-bundle-'));
after(() => rmSync(work, { recursive: true, force: true }));

function noNodeModulesAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return false;
    if (dirname(d) === d) return true;
  }
}

test('npm run bundle: dist/ratls.cjs runs --help and demo from a folder with no node_modules', () => {
  const built = join(work, 'build', 'ratls.cjs');
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), built], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  const run = join(work, 'run');
  spawnSync('mkdir', [run]);
  copyFileSync(built, join(run, 'ratls.cjs'));
  assert.ok(noNodeModulesAbove(run), `${run} has a node_modules above it; the test would prove nothing`);
  // A clean environment: no NODE_OPTIONS (tsx) or NODE_PATH from the test runner.
  const env = { PATH: process.env.PATH ?? '', HOME: run };
  const help = spawnSync(process.execPath, ['ratls.cjs', '--help'], { cwd: run, env, encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: ratls/);
  assert.match(help.stdout, /gateway/);
  assert.match(help.stdout, /init/);
  const demo = spawnSync(process.execPath, ['ratls.cjs', 'demo', '--port', '0', '--admin-port', '0'], {
    cwd: run,
    env,
    encoding: 'utf8',
    timeout: 90_000,
  });
  assert.equal(demo.status, 0, `${demo.stdout}\n${demo.stderr}`);
  assert.match(demo.stdout, /demo passed/);
});

test('the bundle, alone in a folder, runs a gateway with workers: 2 (forking itself) that accepts a simulated enclave', async () => {
  const { initSimulation } = await import('@ratls/sim');
  const { echoBackend, logMessage, run, simCert, writeFile } = await import('@ratls/test-support/gateway-helpers');
  const built = join(work, 'build', 'ratls.cjs');
  if (!existsSync(built)) {
    const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), built], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
  }
  const dir = join(work, 'workers');
  spawnSync('mkdir', [dir]);
  copyFileSync(built, join(dir, 'ratls.cjs'));
  assert.ok(noNodeModulesAbove(dir));
  const good = '11'.repeat(32);
  await initSimulation(join(dir, 'sim'));
  const client = await simCert(join(dir, 'sim'), join(dir, 'good'), { mrEnclave: good });
  await simCert(join(dir, 'sim'), join(dir, 'server'), { mrEnclave: good, subject: 'gateway' });
  const backend = await echoBackend();
  writeFile(
    dir,
    'policy.yaml',
    `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: p\n    sgx: { mrEnclave: ["${good}"] }\n`,
  );
  writeFile(
    dir,
    'gateway.yaml',
    `version: 1
workers: 2
trust: { anchors: [./sim/root.pem], collateral: [./sim/collateral.json, ./sim/collateral-tdx.json] }
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
limits: { drainTimeoutMs: 500 }
listeners:
  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:${backend.port}" } }
`,
  );
  const env = { PATH: process.env.PATH ?? '', HOME: dir };
  const { spawn } = await import('node:child_process');
  const gw = spawn(process.execPath, ['ratls.cjs', 'gateway', '--config', 'gateway.yaml'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    let err = '';
    const ready = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`not ready:\n${err}`)), 60_000);
      gw.stderr?.on('data', (c: Buffer) => {
        err += c.toString('utf8');
        const m = logMessage(err, /^ratls gateway ready: /);
        if (m) {
          clearTimeout(t);
          resolve(m);
        }
      });
      gw.once('exit', (code) => reject(new Error(`exited ${code}:\n${err}`)));
    });
    const port = /api=127\.0\.0\.1:(\d+)/.exec(ready)?.[1];
    assert.ok(port, ready);
    // Not spawnSync: the echo backend runs in this process and must keep answering.
    const curl = await run(
      'curl',
      [
        '-sS',
        '-k',
        '--max-time',
        '15',
        '--cert',
        client.cert,
        '--key',
        client.key,
        `https://127.0.0.1:${port}/through-workers`,
      ],
      { timeoutMs: 30_000 },
    );
    assert.equal(curl.code, 0, `${curl.stderr}\n${err}`);
    assert.match(curl.stdout, /through-workers/);
    assert.doesNotMatch(err, /worker exited/);
  } finally {
    gw.kill('SIGTERM');
    await new Promise((r) => gw.once('exit', r));
    await backend.close();
  }
});
