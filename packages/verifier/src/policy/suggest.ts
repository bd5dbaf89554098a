/**
 * "Did you mean …?" for configuration files: the keys a zod schema allows at a path (read from
 * its JSON Schema, so unions, optionals and arrays need no special walking) and the closest of
 * them to a misspelt key.
 */
import { z } from 'zod';

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
};

const cache = new WeakMap<z.ZodType, JsonSchema>();

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  let js = cache.get(schema);
  if (!js) {
    // `unrepresentable: 'any'`: transforms and custom checks become `{}`; only key names matter here.
    js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
    cache.set(schema, js);
  }
  return js;
}

function branches(s: JsonSchema): JsonSchema[] {
  const alt = [...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])];
  return alt.length > 0 ? [s, ...alt.flatMap(branches)] : [s];
}

/**
 * The keys the schema allows in the mapping at `path` (numbers step into lists).
 * @example knownKeysAt(z.strictObject({ a: z.strictObject({ bc: z.string() }) }), ['a']) // ['bc']
 */
export function knownKeysAt(schema: z.ZodType, path: readonly (string | number)[]): string[] {
  let level = branches(jsonSchemaOf(schema));
  for (const step of path) {
    const next: JsonSchema[] = [];
    for (const s of level) {
      const child = typeof step === 'number' ? s.items : s.properties?.[step];
      if (child) next.push(...branches(child));
    }
    level = next;
  }
  return [...new Set(level.flatMap((s) => Object.keys(s.properties ?? {})))];
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] as number;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] as number;
      prev[j] = Math.min(up + 1, (prev[j - 1] as number) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] as number;
}

/**
 * The candidate closest to `word` (case-insensitive edit distance at most a third of its length,
 * at least 2), or undefined when nothing is close enough to be a typo.
 * @example closestName('mrEnclav', ['mrEnclave', 'mrSigner']) // 'mrEnclave'
 */
export function closestName(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    if (!best || d < best.d) best = { name: c, d };
  }
  return best && best.d <= Math.max(2, Math.floor(word.length / 3)) ? best.name : undefined;
}

/**
 * The message for an unknown key: names it, suggests the closest allowed key, else lists them.
 * @example unknownKeyMessage('mrEnclav', ['mrEnclave']) // "unknown key 'mrEnclav' (did you mean 'mrEnclave'?)"
 */
export function unknownKeyMessage(key: string, allowed: readonly string[]): string {
  const near = closestName(key, allowed);
  if (near) return `unknown key '${key}' (did you mean '${near}'?)`;
  return allowed.length > 0 ? `unknown key '${key}' (allowed here: ${allowed.join(', ')})` : `unknown key '${key}'`;
}
