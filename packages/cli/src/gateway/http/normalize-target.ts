/**
 * Request-target normalization for forwarded HTTP (pure). The gateway forwards only a path it has
 * normalized itself, so a backend that normalizes differently (decodes `%2e`, folds `\` into `/`,
 * strips Tomcat path parameters) cannot be steered outside the configured base path.
 *
 * Policy (docs/gateway.md, "Paths"):
 * - origin-form only (RFC 9112 §3.2.1); absolute-form only when the listener allows it, and then
 *   only its path and query are used; asterisk-form and fragments are refused;
 * - percent-encoded unreserved characters are decoded (RFC 3986 §6.2.2.2), other escapes are
 *   kept with upper-case hex; `%2F` (encoded `/`), `%5C` and `\` (backslash), encoded controls and
 *   `%25XX` (double encoding) are refused rather than guessed at;
 * - empty segments (`//`) are collapsed, then RFC 3986 §5.2.4 remove_dot_segments runs, except that
 *   a `..` that would climb above the client's root is refused instead of being clamped;
 * - a segment whose name part (before `;`) is `.` or `..` (`..;/`, Tomcat/Jetty path parameters) is
 *   refused;
 * - the query is kept byte for byte, but must be visible ASCII.
 */
import { type HttpRefusal, refusal } from './refusal.js';

export type NormalizedTarget = { ok: true; path: string; query: string } | { ok: false; refusal: HttpRefusal };

const HEX = /^[0-9A-Fa-f]{2}$/;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
// RFC 3986 §3.3 pchar minus pct-encoded, plus "/"
const PATH_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;
const ABSOLUTE_FORM = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/;

function no(reason: Parameters<typeof refusal>[0], detail: string): NormalizedTarget {
  return { ok: false, refusal: refusal(reason, detail) };
}

/** Decodes unreserved escapes and refuses the hostile ones; undefined plus a refusal on failure. */
function decodePath(raw: string): { path: string } | { refusal: NormalizedTarget } {
  let out = '';
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === '\\') return { refusal: no('backslash', 'backslash in path') };
    if (c !== '%') {
      if (!PATH_CHAR.test(c))
        return { refusal: no('invalid_path_char', `character 0x${c.charCodeAt(0).toString(16)}`) };
      out += c;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return { refusal: no('bad_percent_encoding', `"%${hex}" is not an escape`) };
    const b = Number.parseInt(hex, 16);
    const ch = String.fromCharCode(b);
    if (b === 0x2f) return { refusal: no('encoded_slash', '%2F in path') };
    if (b === 0x5c) return { refusal: no('backslash', '%5C in path') };
    if (b < 0x20 || b === 0x7f) return { refusal: no('encoded_control', `%${hex} in path`) };
    if (b === 0x25 && HEX.test(raw.slice(i + 3, i + 5))) {
      return { refusal: no('double_encoding', `%25${raw.slice(i + 3, i + 5)} in path`) };
    }
    out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return { path: out };
}

/**
 * Collapses `//` and removes dot segments of an absolute path; undefined when `..` climbs above `/`.
 * @example removeDotSegments('/a/./b/../c/') // '/a/c/'
 */
export function removeDotSegments(path: string): string | undefined {
  const segs = path.split('/').slice(1);
  const stack: string[] = [];
  let trailing = false;
  for (const s of segs) {
    trailing = s === '' || s === '.' || s === '..';
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (stack.length === 0) return undefined;
      stack.pop();
      continue;
    }
    stack.push(s);
  }
  if (stack.length === 0) return '/';
  return `/${stack.join('/')}${trailing ? '/' : ''}`;
}

/** The base path of a backend URL without its trailing slash ('' for the root). */
export function basePathOf(url: URL): string {
  const p = removeDotSegments(url.pathname) ?? '/';
  return p === '/' ? '' : p.replace(/\/$/, '');
}

/**
 * Normalizes a client request-target and places it under `basePath` (as from `basePathOf`).
 * @example normalizeTarget('/a/%2e%2e/b?q=1', '/v1') // { ok: true, path: '/v1/b', query: '?q=1' }
 * @example normalizeTarget('/../admin', '/v1').ok // false (path_escapes_base)
 */
export function normalizeTarget(
  target: string,
  basePath: string,
  opts: { allowAbsoluteForm?: boolean } = {},
): NormalizedTarget {
  let t = target;
  if (t === '*') return no('asterisk_form', 'asterisk-form target');
  if (!t.startsWith('/')) {
    const m = ABSOLUTE_FORM.exec(t);
    if (!m) return no('bad_request_target', 'target is not origin-form');
    if (!opts.allowAbsoluteForm) return no('absolute_form', 'absolute-form target');
    // RFC 9112 §3.2.2: a server MUST accept absolute-form; the authority is ignored, Host stays.
    t = t.slice(m[0].length);
    if (!t.startsWith('/')) t = `/${t}`;
  }
  if (t.includes('#')) return no('bad_request_target', 'fragment in target');
  const q = t.indexOf('?');
  const rawPath = q === -1 ? t : t.slice(0, q);
  const query = q === -1 ? '' : t.slice(q);
  if (!/^[\x21-\x7e]*$/.test(query)) return no('invalid_query', 'query is not visible ASCII');
  const decoded = decodePath(rawPath);
  if ('refusal' in decoded) return decoded.refusal;
  for (const seg of decoded.path.split('/')) {
    const semi = seg.indexOf(';');
    if (semi === -1) continue;
    const name = seg.slice(0, semi);
    if (name === '.' || name === '..') return no('path_parameter_dot_segment', `segment "${seg.slice(0, 64)}"`);
  }
  const path = removeDotSegments(decoded.path);
  if (path === undefined) return no('path_escapes_base', 'a ".." segment climbs above the base path');
  try {
    // Escapes that are not UTF-8 (overlong `%C0%AE` among them) are refused, not passed on.
    decodeURIComponent(path);
  } catch {
    return no('bad_percent_encoding', 'escapes are not UTF-8');
  }
  return { ok: true, path: basePath === '' ? path : `${basePath}${path}`, query };
}
