// Writes schemas/*.schema.json from the zod schemas (run: npm run schemas). See scripts/schemas.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderSchemas } from './schemas.ts';

const out = join(fileURLToPath(new URL('..', import.meta.url)), 'schemas');
mkdirSync(out, { recursive: true });
for (const [name, text] of Object.entries(renderSchemas())) {
  writeFileSync(join(out, name), text);
  console.log(`wrote schemas/${name}`);
}
