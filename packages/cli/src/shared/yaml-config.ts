/**
 * YAML configuration files for the long-running commands (the gateway, the client): read with a
 * size bound, parsed with the yaml document API so every error names its file, line and column,
 * validated by a strict zod schema, and unknown keys named. Shared so both commands report
 * configuration errors the same way.
 */
import { readFileSync, statSync } from 'node:fs';
import { ConfigError, type ErrorCode } from '@ratls/evidence';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { issueMessages } from './issue-message.js';

export const MAX_CONFIG_BYTES = 256 * 1024;

/** A parsed document with the helper that points an error at a key path. */
export interface LocatedDocument<T> {
  data: T;
  /** `file:line:col: path: msg` for the node at `path` (its parent when absent). */
  at(path: (string | number)[], msg: string): string;
}

function located(source: string, lc: LineCounter, offset: number | undefined, path: string, msg: string): string {
  const pos = offset !== undefined ? lc.linePos(offset) : undefined;
  return `${source}:${pos ? `${pos.line}:${pos.col}` : '1:1'}: ${path ? `${path}: ` : ''}${msg}`;
}

/**
 * `listeners[0].forward` style path text.
 * @example pathText(['listeners', 0, 'tls']) // 'listeners[0].tls'
 */
export function pathText(path: (string | number)[]): string {
  return path.map((p, k) => (typeof p === 'number' ? `[${p}]` : k === 0 ? p : `.${p}`)).join('');
}

/**
 * Parses and validates configuration text against `schema`; every failure is a ConfigError with
 * `code` whose message lists up to five `file:line:col: path: problem` lines.
 * @example const { data, at } = parseYamlConfig(text, '/etc/ratls/client.yaml', schema, 'ERR_CLIENT_CONFIG')
 */
export function parseYamlConfig<S extends z.ZodType>(
  text: string,
  source: string,
  schema: S,
  code: ErrorCode,
): LocatedDocument<z.infer<S>> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(
      code,
      'config',
      located(source, lc, e?.pos[0], '', e?.message.split('\n')[0] ?? 'YAML syntax error'),
    );
  }
  let plain: unknown;
  try {
    // Aliases are legitimate YAML but bounded: an alias bomb must not expand into gigabytes.
    plain = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError(
      code,
      'config',
      located(source, lc, undefined, '', `YAML: ${(e as Error).message.split('\n')[0]}`),
      { cause: e },
    );
  }
  const parsed = schema.safeParse(plain);
  if (!parsed.success) {
    const lines = parsed.error.issues
      .flatMap((i) => issueMessages(i, schema, plain))
      .slice(0, 5)
      .map(({ path, message, key }) => {
        // Point at the deepest node that exists (an unknown or missing key points at its parent map).
        let offset: number | undefined;
        for (let n = path.length; n >= 0 && offset === undefined; n--) {
          const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
          if (node && typeof node === 'object' && 'range' in node) {
            const r = (node as { range?: [number, number, number] | null }).range;
            if (r) offset = r[0];
          }
        }
        if (key !== undefined) {
          // Point at the unknown key itself rather than its map.
          const map = path.length === 0 ? doc.contents : doc.getIn(path, true);
          if (isMap(map)) {
            const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
            if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
          }
        }
        return located(source, lc, offset, pathText(path), message);
      });
    throw new ConfigError(code, 'config', lines.join('\n'));
  }
  if (!isMap(doc.contents)) throw new ConfigError(code, 'config', `${source}: not a YAML map`);
  const at = (path: (string | number)[], msg: string): string => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return located(source, lc, node?.range?.[0], pathText(path), msg);
  };
  return { data: parsed.data as z.infer<S>, at };
}

/**
 * Reads a configuration file of at most MAX_CONFIG_BYTES; a ConfigError with `code` otherwise.
 * @example const text = readConfigText('/etc/ratls/client.yaml', 'ERR_CLIENT_CONFIG')
 */
export function readConfigText(source: string, code: ErrorCode): string {
  try {
    const st = statSync(source);
    if (st.size > MAX_CONFIG_BYTES) {
      throw new ConfigError(code, 'config', `${source}: ${st.size} bytes, above ${MAX_CONFIG_BYTES}`);
    }
    return readFileSync(source, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(code, 'config', `${source}: cannot read: ${(e as Error).message}`, { cause: e });
  }
}
