/**
 * The published JSON Schemas (schemas/*.schema.json), generated from the zod schemas the gateway
 * and the verifier validate with, so an editor's completion and the real validation cannot drift:
 * scripts/schemas.test.ts regenerates them and fails when the checked-in files differ.
 */
import { z } from 'zod';
import { gatewayConfigSchema } from '../packages/cli/src/gateway/config/config.js';
import { policySchema } from '../packages/verifier/src/policy/schema.js';

/** File name under schemas/ → JSON Schema text (2-space JSON with a final newline). */
export function renderSchemas(): Record<string, string> {
  const render = (schema: z.ZodType, id: string, title: string): string => {
    // io: 'input' describes what a file may contain (before defaults and transforms); fields whose
    // checks are code (hex widths, PlainNumber) have no JSON Schema form and are left open ({}).
    const js = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
    return `${JSON.stringify({ ...js, $id: id, title }, null, 2)}\n`;
  };
  return {
    'gateway.schema.json': render(
      gatewayConfigSchema,
      'https://ratls.dev/schemas/gateway.schema.json',
      'ratls gateway configuration (docs/gateway.md)',
    ),
    'policy.schema.json': render(
      policySchema,
      'https://ratls.dev/schemas/policy.schema.json',
      'ratls policy file (docs/policy.md)',
    ),
  };
}
