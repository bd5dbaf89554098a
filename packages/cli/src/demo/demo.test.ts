import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDemo } from './demo.js';

test('npm run demo: the named enclave is served, the impostor and the debug build are refused', async () => {
  const lines: string[] = [];
  const code = await runDemo({ out: (l) => lines.push(l) });
  const text = lines.join('\n');
  assert.equal(code, 0, text);
  assert.match(text, /attempt 1: .*\n\s+→ SERVED as expected: HTTP 200/);
  assert.match(text, /attempt 2: .*\n\s+→ REFUSED as expected/);
  assert.match(text, /attempt 3: .*\n\s+→ REFUSED as expected/);
  assert.match(text, /reason=measurement_mismatch/);
  assert.match(text, /reason=debug_not_allowed/);
  assert.match(text, /ratls_handshakes_total\{listener="secrets",result="reject"\} 2/);
});
