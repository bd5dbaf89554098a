/**
 * Gateway configuration errors name what is wrong in the operator's terms: the unknown key and the
 * closest allowed one, the supported URL schemes, the shapes a union takes; never zod's bare
 * "Invalid input", "Invalid URL" or "Unrecognized key".
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseGatewayConfig } from '../gateway/config/config.js';

const SRC = '/etc/ratls/gateway.yaml';
const base = (forward: string, trust = '') =>
  `version: 1\ntrust: { collateral: c.json${trust} }\npolicy: p.yaml\nlisteners:\n  - name: a\n    listen: 127.0.0.1:0\n    tls: { cert: c, key: k }\n    forward: ${forward}\n`;

function refuse(text: string): string {
  try {
    parseGatewayConfig(text, SRC);
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'ERR_GATEWAY_CONFIG');
    const msg = (e as Error).message;
    assert.doesNotMatch(msg, /Invalid input|Invalid URL|Unrecognized key/);
    return msg;
  }
  assert.fail('accepted');
}

describe('gateway config error messages', () => {
  test('an unknown key is named with the closest allowed key, at its own line and column', () => {
    assert.equal(
      refuse(base('{ http: "http://127.0.0.1:1" }').replace('listeners:', 'listener:')).split('\n')[1],
      `${SRC}:4:1: unknown key 'listener' (did you mean 'listeners'?)`,
    );
    assert.match(
      refuse(base('{ http: "http://x:1" }', ', colateral: x')),
      /:2:30: trust: unknown key 'colateral' \(did you mean 'collateral'\?\)/,
    );
  });

  test('a key nothing resembles lists the keys allowed there', () => {
    assert.match(
      refuse(`${base('{ http: "http://x:1" }')}zzzzzz: 1\n`),
      /unknown key 'zzzzzz' \(allowed here: version, trust, policy, .*listeners\)/,
    );
  });

  test('a misspelt forward kind is named (not "Invalid input")', () => {
    assert.match(
      refuse(base('{ htp: "http://x:1" }')),
      /:8:16: listeners\[0\]\.forward: unknown key 'htp' \(did you mean 'http'\?\)/,
    );
    assert.match(
      refuse(base('{}')),
      /listeners\[0\]\.forward: expected exactly one of 'http: <url>', 'tcp: <host:port>' or 'unix: <path>'/,
    );
  });

  test('a URL with an unsupported scheme lists the supported ones and what it got', () => {
    const m = refuse(base('{ http: "ftp://127.0.0.1:1" }'));
    assert.match(
      m,
      /listeners\[0\]\.forward\.http: expected a URL such as http:\/\/127\.0\.0\.1:8080; supported schemes: http, https \(got 'ftp'\)/,
    );
    assert.match(m, /'tcp: host:port'/);
    assert.match(refuse(base('{ http: "redis://x:1" }')), /\(got 'redis'\)/);
    assert.match(refuse(base('{ http: "not a url" }')), /supported schemes: http, https \(not a URL\)/);
    assert.match(
      refuse(base('{ http: "http://x:1" }', ', pccs: ftp://p')),
      /trust\.pccs: expected a URL such as https:\/\/pccs\.example:8081; supported schemes: http, https \(got 'ftp'\)/,
    );
  });

  test('unions say what they take', () => {
    assert.match(
      refuse(`${base('{ http: "http://x:1" }')}audit: 7\n`),
      /audit: expected 'stdout' or \{ file: <path> \}/,
    );
    assert.match(
      refuse(`${base('{ http: "http://x:1" }')}workers: many\n`),
      /workers: expected a number of processes \(1-256\) or 'auto'/,
    );
  });
});
