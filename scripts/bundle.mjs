// Builds the single-file CLI: dist/ratls.cjs (npm run bundle). CommonJS, because a Node single
// executable application (node --experimental-sea-config) embeds one CommonJS script; the ESM
// sources' `import.meta.url` is shimmed from __filename. It runs with `node dist/ratls.cjs` on a
// machine with Node 20 and no node_modules.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = process.argv[2] ?? join(root, 'dist', 'ratls.cjs');
const version = JSON.parse(readFileSync(join(root, 'packages/cli/package.json'), 'utf8')).version;

// version.ts reads package.json beside the sources at run time; the bundle has no such file.
const inlineVersion = {
  name: 'inline-version',
  setup(b) {
    b.onLoad({ filter: /packages[\\/]cli[\\/]src[\\/]version\.ts$/ }, () => ({
      contents: `export const RATLS_VERSION: string = ${JSON.stringify(version)};`,
      loader: 'ts',
    }));
  },
};

mkdirSync(join(outfile, '..'), { recursive: true });
await build({
  entryPoints: [join(root, 'packages/cli/src/main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // The workspace packages' "development" export is their TypeScript source: no build needed first.
  conditions: ['development'],
  // RATLS_BUNDLED: the gateway's cluster forks this file for its workers (cluster.ts, main.ts).
  define: { 'import.meta.url': '__ratlsImportMetaUrl', 'process.env.RATLS_BUNDLED': '"1"' },
  banner: {
    js: "#!/usr/bin/env node\nconst __ratlsImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  },
  plugins: [inlineVersion],
  legalComments: 'none',
  logLevel: 'warning',
});
console.log(`wrote ${outfile}`);
