import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { basePathOf, normalizeTarget, removeDotSegments } from './normalize-target.js';

const reason = (t: string, base = '/v1', allowAbsoluteForm = false) => {
  const r = normalizeTarget(t, base, { allowAbsoluteForm });
  return r.ok ? `ok ${r.path}${r.query}` : r.refusal.reason;
};

describe('normalizeTarget', () => {
  it('refuses every traversal and hostile spelling with its reason', () => {
    assert.equal(reason('/../admin'), 'path_escapes_base');
    assert.equal(reason('/%2e%2e/admin'), 'path_escapes_base');
    assert.equal(reason('/a/%2E%2E/%2e%2e/admin'), 'path_escapes_base');
    assert.equal(reason('/a/b/../../../admin'), 'path_escapes_base');
    assert.equal(reason('/..;/admin'), 'path_parameter_dot_segment');
    assert.equal(reason('/.;/admin'), 'path_parameter_dot_segment');
    assert.equal(reason('/a/%2e%2e;x/admin'), 'path_parameter_dot_segment');
    assert.equal(reason('/a\\..\\admin'), 'backslash');
    assert.equal(reason('/a%5C..'), 'backslash');
    assert.equal(reason('/a%2Fb'), 'encoded_slash');
    assert.equal(reason('/a%2fb'), 'encoded_slash');
    assert.equal(reason('/%252e%252e/'), 'double_encoding');
    assert.equal(reason('/a%00b'), 'encoded_control');
    assert.equal(reason('/a%0d%0aX: y'), 'encoded_control');
    assert.equal(reason('/a%2'), 'bad_percent_encoding');
    assert.equal(reason('/a%g0'), 'bad_percent_encoding');
    assert.equal(reason('/%c0%ae%c0%ae/'), 'bad_percent_encoding');
    assert.equal(reason('/a b'), 'invalid_path_char');
    assert.equal(reason('/a"b'), 'invalid_path_char');
    assert.equal(reason('/a#frag'), 'bad_request_target');
    assert.equal(reason('*'), 'asterisk_form');
    assert.equal(reason('a/b'), 'bad_request_target');
    assert.equal(reason('http://evil/admin'), 'absolute_form');
    assert.equal(reason('/a?x=\u00e9'), 'invalid_query');
    assert.equal(reason('/a?x= y'), 'invalid_query');
  });

  it('normalizes what is safe and keeps the query verbatim', () => {
    assert.equal(reason('//admin'), 'ok /v1/admin');
    assert.equal(reason('/a//b///c'), 'ok /v1/a/b/c');
    assert.equal(reason('/a/./b/../c/'), 'ok /v1/a/c/');
    assert.equal(reason('/a/..'), 'ok /v1/');
    assert.equal(reason('/'), 'ok /v1/');
    assert.equal(reason('/', ''), 'ok /');
    assert.equal(reason('/%7euser/%41%2d'), 'ok /v1/~user/A-');
    assert.equal(reason('/%e2%82%ac'), 'ok /v1/%E2%82%AC');
    assert.equal(reason('/a;jsessionid=1/b'), 'ok /v1/a;jsessionid=1/b');
    assert.equal(reason('/a?x=%2F..&y=/../#'.replace('#', '')), 'ok /v1/a?x=%2F..&y=/../');
    assert.equal(reason('/...'), 'ok /v1/...');
    assert.equal(reason('http://evil/a/../b?q', '/v1', true), 'ok /v1/b?q');
    assert.equal(reason('http://evil', '/v1', true), 'ok /v1/');
  });

  it('removeDotSegments follows RFC 3986 §5.2.4 except that climbing above the root is refused', () => {
    assert.equal(removeDotSegments('/a/b/c/./../../g'), '/a/g');
    assert.equal(removeDotSegments('/mid/content=5/../6'), '/mid/6');
    assert.equal(removeDotSegments('/a/.'), '/a/');
    assert.equal(removeDotSegments('/..'), undefined);
  });

  it('basePathOf drops a trailing slash and treats the root as empty', () => {
    assert.equal(basePathOf(new URL('http://h:1')), '');
    assert.equal(basePathOf(new URL('http://h:1/')), '');
    assert.equal(basePathOf(new URL('http://h:1/v1/')), '/v1');
    assert.equal(basePathOf(new URL('http://h:1/v1/x/../y')), '/v1/y');
  });

  it('a normalized path never leaves the base and carries no dot segment, however it is decoded (property)', () => {
    const piece = fc.constantFrom(
      '/',
      '.',
      '..',
      '%2e',
      '%2E',
      '%2e%2e',
      '.%2e',
      'a',
      'b',
      ';',
      ';x',
      '%2f',
      '%5c',
      '\\',
      '%',
      '%25',
      '%41',
      '%c0%ae',
      '//',
      '?',
      '#',
      '%00',
      '~',
      ' ',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 16 }), fc.constantFrom('', '/v1', '/api/v2'), (parts, base) => {
        const target = `/${parts.join('')}`;
        const r = normalizeTarget(target, base);
        if (!r.ok) return;
        const prefix = `${base}/`;
        assert.ok(r.path.startsWith(prefix) || r.path === prefix, `${target} → ${r.path}`);
        // However a backend decodes it (once, fully, with \ as /), it stays under the base.
        const decoded = decodeURIComponent(r.path).replaceAll('\\', '/');
        const resolved = new URL(decoded, 'http://h').pathname;
        assert.ok(resolved.startsWith(prefix) || resolved === prefix, `${target} → ${r.path} → ${resolved}`);
        for (const seg of r.path.slice(base.length).split('/').slice(1, -1)) {
          assert.ok(seg !== '' && seg !== '.' && seg !== '..', `${target} → ${r.path}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
