import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { canonicalCode, ERROR_CODES, type ErrorCodeInfo, isCode, isErrorCode } from './error-codes.js';
import { ConfigError, EvidenceParseError, RatlsError, toRatlsError } from './errors.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Node's own error codes that gateway code matches on; they are Node's vocabulary, not ours. */
const NODE_CODES = new Set(['ERR_HTTP_HEADERS_TIMEOUT', 'ERR_TLS_CERT_ALTNAME_INVALID']);

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

describe('error-code registry', () => {
  test('every ERR_ string literal in packages/*/src is registered', () => {
    const missing: string[] = [];
    for (const pkg of readdirSync(join(ROOT, 'packages'))) {
      for (const f of sourceFiles(join(ROOT, 'packages', pkg, 'src'))) {
        for (const m of readFileSync(f, 'utf8').matchAll(/['"`](ERR_[A-Z0-9_]+)['"`]/g)) {
          const code = m[1] as string;
          if (!isErrorCode(code) && !NODE_CODES.has(code)) missing.push(`${relative(ROOT, f)}: ${code}`);
        }
      }
    }
    assert.deepEqual(missing, []);
  });

  test('every entry has a step and a one-sentence meaning; aliases point at a live canonical code', () => {
    for (const [code, info] of Object.entries(ERROR_CODES) as [string, ErrorCodeInfo][]) {
      assert.match(code, /^ERR_[A-Z0-9_]+$/);
      assert.match(info.step, /^[a-z0-9-]+$/, code);
      assert.ok(info.meaning.length > 10 && info.meaning.endsWith('.'), code);
      if (info.aliasOf !== undefined) {
        assert.ok(isErrorCode(info.aliasOf), `${code} → ${info.aliasOf}`);
        const target: ErrorCodeInfo = ERROR_CODES[info.aliasOf as keyof typeof ERROR_CODES];
        assert.equal(target.aliasOf, undefined, `${code}: an alias of an alias`);
        assert.match(info.deprecated ?? '', /^\d+\.\d+$/, `${code}: deprecated release`);
      } else {
        assert.equal(info.deprecated, undefined, `${code}: deprecated without aliasOf`);
      }
    }
  });

  test('docs/errors.md is generated from the registry and up to date', () => {
    const r = spawnSync(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', join(ROOT, 'scripts', 'gen-errors-doc.mjs'), '--check'],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, r.stderr);
  });

  test('an unregistered code does not typecheck (checked by npm run typecheck)', () => {
    // @ts-expect-error ERR_NOT_REGISTERED is not in ERROR_CODES
    const e = new RatlsError('ERR_NOT_REGISTERED', 'test', 'x');
    // @ts-expect-error toRatlsError takes registered codes only
    const w = toRatlsError(new Error('boom'), 'ERR_NOT_REGISTERED_EITHER', 'test');
    assert.equal(e.code, 'ERR_NOT_REGISTERED');
    assert.equal(w.code, 'ERR_NOT_REGISTERED_EITHER');
    assert.equal(isErrorCode(e.code), false);
  });
});

describe('aliases', () => {
  test('a deprecated alias is still emitted as before, with its canonical code in the JSON', () => {
    const e = new ConfigError('ERR_TIME_INVALID', 'config', '`at` must be a valid Date');
    assert.equal(e.code, 'ERR_TIME_INVALID');
    assert.deepEqual(e.toJSON(), {
      code: 'ERR_TIME_INVALID',
      step: 'config',
      message: '`at` must be a valid Date',
      canonicalCode: 'ERR_AT_INVALID',
    });
    assert.equal(canonicalCode('ERR_TIME_INVALID'), 'ERR_AT_INVALID');
    assert.equal(canonicalCode('ERR_QUOTE_INVALID'), 'ERR_QUOTE_INPUT');
    assert.equal(canonicalCode('ERR_CERT_ALGORITHM'), 'ERR_CERT_SIGNATURE_ALGORITHM');
    assert.equal(canonicalCode('ERR_SIM_REPORT_DATA'), 'ERR_PROVIDER_REPORT_DATA_LENGTH');
  });

  test('a canonical code has no canonicalCode in its JSON', () => {
    const e = new EvidenceParseError('ERR_QUOTE_TRUNCATED', 'parse', 'quote: truncated');
    assert.deepEqual(e.toJSON(), { code: 'ERR_QUOTE_TRUNCATED', step: 'parse', message: 'quote: truncated' });
  });

  test('isCode matches either spelling of a merged pair and nothing else', () => {
    const old = new ConfigError('ERR_TIME_INVALID', 'config', 'x');
    const canonical = new ConfigError('ERR_AT_INVALID', 'nitro', 'x');
    assert.equal(isCode(old, 'ERR_AT_INVALID'), true);
    assert.equal(isCode(old, 'ERR_TIME_INVALID'), true);
    assert.equal(isCode(canonical, 'ERR_TIME_INVALID'), true);
    assert.equal(isCode(canonical, 'ERR_QUOTE_INPUT'), false);
    assert.equal(isCode({ code: 'ERR_NOT_REGISTERED' }, 'ERR_AT_INVALID'), false);
    assert.equal(isCode('ERR_AT_INVALID', 'ERR_AT_INVALID'), false);
    assert.equal(isCode(null, 'ERR_AT_INVALID'), false);
  });
});
