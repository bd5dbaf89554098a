/**
 * Turns zod's issues on a gateway configuration into messages an operator can act on: an unknown
 * key is named with the closest allowed key, a URL with the wrong scheme lists the supported
 * schemes, and a union that matched no branch says which shapes it takes (zod alone says
 * "Invalid input" and "Invalid URL").
 */
import { knownKeysAt, unknownKeyMessage } from '@ratls/verifier';
import type { z } from 'zod';

type Path = (string | number)[];

/** The same path with list indices as `[]`, to look shapes up by field. */
function shapeKey(path: Path): string {
  return path.map((p, k) => (typeof p === 'number' ? '[]' : k === 0 ? p : `.${p}`)).join('');
}

/** The URL fields: which schemes each takes, and an example. */
const URL_FIELDS: Record<string, { schemes: string[]; example: string; hint?: string }> = {
  'listeners[].forward.http': {
    schemes: ['http', 'https'],
    example: 'http://127.0.0.1:8080',
    hint: "a TCP backend is 'tcp: host:port' and a UNIX socket 'unix: /path'; an https backend also needs 'tls: { ca, servername }'",
  },
  'trust.pccs': { schemes: ['http', 'https'], example: 'https://pccs.example:8081' },
  'trust.snp.kds': { schemes: ['http', 'https'], example: 'https://kdsintf.amd.com' },
};

/** What a union field accepts, when no branch matched. */
const UNION_SHAPES: Record<string, string> = {
  'listeners[].forward': "expected exactly one of 'http: <url>', 'tcp: <host:port>' or 'unix: <path>'",
  'trust.collateral': 'expected a collateral file path or a list of them',
  audit: "expected 'stdout' or { file: <path> }",
  workers: "expected a number of processes (1-256) or 'auto'",
};

function valueAt(root: unknown, path: Path): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[p];
  }
  return v;
}

/** One message per problem, each with the path it belongs to (an unknown key: the key's own path). */
export function issueMessages(
  issue: z.core.$ZodIssue,
  schema: z.ZodType,
  input: unknown,
): Array<{ path: Path; message: string; key?: string }> {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const allowed = knownKeysAt(schema, path);
    return issue.keys.map((k) => ({ path, key: k, message: unknownKeyMessage(k, allowed) }));
  }
  const field = shapeKey(path);
  if (issue.code === 'invalid_format' && issue.format === 'url') {
    const u = URL_FIELDS[field];
    if (u) {
      const got = valueAt(input, path);
      let scheme = '';
      try {
        scheme = ` (got '${new URL(String(got)).protocol.replace(/:$/, '')}')`;
      } catch {
        scheme = ' (not a URL)';
      }
      return [
        {
          path,
          message: `expected a URL such as ${u.example}; supported schemes: ${u.schemes.join(', ')}${scheme}${u.hint ? `; ${u.hint}` : ''}`,
        },
      ];
    }
  }
  if (issue.code === 'invalid_union') {
    const got = valueAt(input, path);
    if (got && typeof got === 'object' && !Array.isArray(got)) {
      // A map that matched no branch usually holds a misspelt key: name it.
      const allowed = knownKeysAt(schema, path);
      const unknown = Object.keys(got).filter((k) => !allowed.includes(k));
      if (unknown.length > 0) return unknown.map((k) => ({ path, key: k, message: unknownKeyMessage(k, allowed) }));
    }
    const shape = UNION_SHAPES[field];
    if (shape) return [{ path, message: shape }];
  }
  const message = /received undefined$/.test(issue.message) ? 'required, but missing' : issue.message;
  return [{ path, message }];
}
