/**
 * The install files agree with the code: the systemd unit's ratls command lines run against a
 * real scaffold (its --check passes; the same config then starts), and the Dockerfile copies files
 * that exist and the bundle where the bundle script writes it. CI does not build the image.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@ratls/test-support/gateway-helpers';
import { runCli } from '@ratls/test-support/run-cli';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = tempDir('ratls-packaging-');
after(() => rmSync(dir, { recursive: true, force: true }));

test('systemd unit: ExecStartPre is `ratls gateway --check`, and it passes on a scaffold', async () => {
  const unit = readFileSync(join(ROOT, 'packaging', 'ratls-gateway.service'), 'utf8');
  const line = (key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(unit)?.[1] ?? '';
  const pre = line('ExecStartPre').split(' ');
  const start = line('ExecStart').split(' ');
  assert.equal(pre[0], '/usr/local/bin/ratls');
  assert.deepEqual(pre.slice(1, 3), ['gateway', '--check']);
  assert.deepEqual(
    start.slice(1),
    pre.slice(1).filter((a) => a !== '--check'),
  );
  assert.equal(line('RestartPreventExitStatus'), '2', 'a config error (exit 2) is not restarted');
  assert.match(line('ExecReload'), /kill -HUP \$MAINPID/);
  assert.equal(line('Environment'), 'NODE_OPTIONS=');
  assert.equal((await runCli(['init', dir, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'])).code, 0);
  const args = pre.slice(1).map((a) => (a === '/etc/ratls/gateway.yaml' ? join(dir, 'gateway.yaml') : a));
  const r = await runCli(args);
  assert.equal(r.code, 0, r.stdout + r.stderr);
});

test('Dockerfile: copies what exists, builds with npm run bundle, installs dist/ratls.cjs behind the wrapper', () => {
  const df = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  assert.match(df, /^FROM node:20-[a-z]+-slim AS build$/m);
  assert.match(df, /npm ci .*--ignore-scripts && npm run bundle/);
  for (const m of df.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of (m[1] as string).split(' ')) assert.ok(existsSync(join(ROOT, src)), `COPY ${src}: missing`);
  }
  assert.match(df, /^COPY --from=build \/src\/dist\/ratls\.cjs \/usr\/local\/lib\/ratls\/ratls\.cjs$/m);
  assert.match(readFileSync(join(ROOT, 'scripts', 'bundle.mjs'), 'utf8'), /join\(root, 'dist', 'ratls\.cjs'\)/);
  const wrapper = join(ROOT, 'packaging', 'ratls.sh');
  assert.match(readFileSync(wrapper, 'utf8'), /^exec node \/usr\/local\/lib\/ratls\/ratls\.cjs "\$@"$/m);
  assert.ok((statSync(wrapper).mode & 0o111) !== 0, 'the wrapper is executable');
  assert.match(df, /^USER ratls$/m);
});
