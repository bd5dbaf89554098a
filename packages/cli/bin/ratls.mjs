#!/usr/bin/env node
// The `ratls` command. A built or installed package runs dist/; a source checkout right after
// `npm ci` (no `npm run build`) runs the TypeScript sources through tsx, with the workspace
// packages resolved to their sources too (the "development" export condition). We chose this over
// a postinstall/prepare build: installs with --ignore-scripts still work, and `npm ci` stays fast.
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const built = new URL('../dist/main.js', import.meta.url);
if (existsSync(built)) {
  const { runCli } = await import(built.href);
  await runCli();
} else {
  let tsx;
  try {
    tsx = await import('tsx/esm/api');
  } catch {
    process.stderr.write('ratls: this checkout is not built and tsx is not installed: run `npm ci` (or `npm run build`)\n');
    process.exit(2);
  }
  tsx.register();
  // Registered last, so it runs first: adds the condition, then hands over to tsx's resolver.
  register('./dev-conditions.mjs', import.meta.url);
  const { runCli } = await import(new URL('../src/main.ts', import.meta.url).href);
  await runCli();
}
