/**
 * The checked-in JSON Schemas are exactly what the zod schemas generate (run `npm run schemas`
 * after changing a schema), and they describe the files ratls writes: the scaffold's
 * gateway.yaml and policy.yaml use only keys the schemas name.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { gatewayText, policyText } from '../packages/cli/src/init/scaffold.js';
import { renderSchemas } from './schemas.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('schemas/*.schema.json are up to date with the zod schemas (npm run schemas)', () => {
  for (const [name, text] of Object.entries(renderSchemas())) {
    const file = readFileSync(join(ROOT, 'schemas', name), 'utf8');
    assert.equal(file, text, `schemas/${name} is stale: run npm run schemas`);
  }
});

type Js = { properties?: Record<string, Js>; items?: Js; anyOf?: Js[]; additionalProperties?: unknown };

/** Every key of `value` is named by the schema at its place (additionalProperties: false everywhere). */
function keysAllowed(schema: Js, value: unknown, at: string): void {
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) if (schema.items) keysAllowed(schema.items, v, `${at}[${i}]`);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const branches = [schema, ...(schema.anyOf ?? [])].filter((b) => b.properties);
  for (const [k, v] of Object.entries(value)) {
    const b = branches.find((x) => x.properties && k in x.properties);
    assert.ok(b, `${at}.${k} is not in the schema`);
    keysAllowed((b.properties as Record<string, Js>)[k] as Js, v, `${at}.${k}`);
  }
}

test('the schemas name every key of the scaffolded files, and refuse unknown ones', () => {
  const s = renderSchemas();
  const gw = JSON.parse(s['gateway.schema.json'] as string) as Js;
  const pol = JSON.parse(s['policy.schema.json'] as string) as Js;
  keysAllowed(
    gw,
    parse(gatewayText({ listen: '127.0.0.1:0', admin: '127.0.0.1:0', backend: 'http://127.0.0.1:1' })),
    '',
  );
  keysAllowed(pol, parse(policyText('ab'.repeat(32))), '');
  assert.equal(gw.additionalProperties, false);
  assert.equal(pol.additionalProperties, false);
  assert.throws(() => keysAllowed(gw, { listner: [] }, ''), /listner is not in the schema/);
});
