import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { runDemo } from './demo.js';

// Tests use any free port: the fixed ones (8443, 9090) are for people copying the README.
const ports = { gateway: 0, admin: 0 };

test('npm run demo: the named enclave is served, the impostor and the debug build are refused', async () => {
  const lines: string[] = [];
  const code = await runDemo({ ports, out: (l) => lines.push(l) });
  const text = lines.join('\n');
  assert.equal(code, 0, text);
  assert.match(text, /attempt 1: .*\n\s+→ SERVED as expected: HTTP 200/);
  assert.match(text, /attempt 2: .*\n\s+→ REFUSED as expected/);
  assert.match(text, /attempt 3: .*\n\s+→ REFUSED as expected/);
  assert.match(text, /reason=measurement_mismatch/);
  assert.match(text, /reason=debug_not_allowed/);
  assert.match(text, /ratls_handshakes_total\{listener="secrets",result="reject"\} 2/);
  // It shows what it ran: both files, a glossary, next steps; and says its folder is deleted.
  assert.match(text, /the gateway's configuration \(.*gateway\.yaml\):\n {2}\| version: 1/);
  assert.match(text, /the policy \(.*policy\.yaml\):\n {2}\| version: 1/);
  assert.match(text, /glossary:\n {2}TEE /);
  assert.match(text, /next steps:\n {2}ratls demo --serve/);
  const folder = /working folder (\S+) \(deleted at the end; --keep keeps it\)/.exec(text)?.[1];
  assert.ok(folder && !existsSync(folder), 'deleted, as it said');
  assert.doesNotMatch(text, /files kept in/);
});

test('demo --keep keeps the folder it prints, audit log included', async () => {
  const lines: string[] = [];
  const code = await runDemo({ ports, keep: true, out: (l) => lines.push(l) });
  const text = lines.join('\n');
  assert.equal(code, 0, text);
  const folder = /files kept in (\S+)/.exec(text)?.[1] as string;
  try {
    assert.match(text, new RegExp(`working folder ${folder} \\(kept\\)`));
    const audit = /full JSON lines in (\S+?)\)/.exec(text)?.[1] as string;
    assert.ok(audit.startsWith(folder) && existsSync(audit), `${audit} kept`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test('demo --serve: the port in the narrative is the port in every curl hint', async () => {
  const lines: string[] = [];
  let stop: () => void = () => {};
  const serveUntil = new Promise<void>((r) => (stop = r));
  const run = runDemo({ ports, serve: true, serveUntil, out: (l) => lines.push(l) });
  const deadline = Date.now() + 60_000;
  while (!lines.some((l) => /tail -f/.test(l)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  stop();
  assert.equal(await run, 0, lines.join('\n'));
  const text = lines.join('\n');
  const serving = /serving on 127\.0\.0\.1:(\d+) until Ctrl-C/.exec(text)?.[1];
  assert.ok(serving, text);
  const hinted = [...text.matchAll(/curl -sk .*https:\/\/127\.0\.0\.1:(\d+)\/secret/g)].map((m) => m[1]);
  assert.equal(hinted.length, 3);
  assert.deepEqual(new Set(hinted), new Set([serving]));
  const folder = /files kept in (\S+)/.exec(text)?.[1] as string;
  rmSync(folder, { recursive: true, force: true });
});
