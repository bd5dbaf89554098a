/**
 * The files a workspace package's manifest promises (`exports` under every condition, `bin`,
 * `main`, `types`) and which of them are missing. Source targets (the `development` condition,
 * `bin`) must always exist; targets under `dist/` only once the package has been built, since a
 * checkout has no `dist`.
 *
 * @example
 * for (const dir of workspacePackages(REPO)) assert.deepEqual(missingTargets(dir), []);
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';

export interface PackageTarget {
  /** `exports["./sim"].development`, `bin.ratls`, `main`. */
  field: string;
  /** The manifest's relative path, e.g. `./src/index.ts`. */
  target: string;
}

function walkExports(value: unknown, field: string, out: PackageTarget[]): void {
  if (typeof value === 'string') out.push({ field, target: value });
  else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) walkExports(v, `${field}[${i}]`, out);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) walkExports(v, `${field}[${JSON.stringify(k)}]`, out);
  }
}

/**
 * Every file target named by the package.json in `dir`.
 * @example packageTargets('packages/cli') // [{ field: 'exports["."]["development"]', target: './src/index.ts' }, …]
 */
export function packageTargets(dir: string): PackageTarget[] {
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const out: PackageTarget[] = [];
  walkExports(manifest.exports, 'exports', out);
  if (typeof manifest.bin === 'string') out.push({ field: 'bin', target: manifest.bin });
  else walkExports(manifest.bin, 'bin', out);
  for (const field of ['main', 'types', 'module']) {
    const v = manifest[field];
    if (typeof v === 'string') out.push({ field, target: v });
  }
  return out;
}

const isFile = (p: string) => existsSync(p) && statSync(p).isFile();

/**
 * The targets of the package in `dir` that do not exist. A `dist/` target counts only when
 * `dist/` exists; a subpath pattern (`./x/*.js`) needs the folder before its `*`.
 * @example missingTargets('packages/cli') // [] once src/index.ts exists
 */
export function missingTargets(dir: string): PackageTarget[] {
  const built = existsSync(join(dir, 'dist'));
  return packageTargets(dir).filter(({ target }) => {
    const rel = normalize(target);
    if (rel.startsWith('dist/') && !built) return false;
    if (target.includes('*')) return !existsSync(join(dir, target.slice(0, target.indexOf('*'))));
    return !isFile(join(dir, rel));
  });
}

/**
 * The workspace package folders named by the root package.json (absolute paths).
 * @example workspacePackages(REPO) // ['/repo/packages/evidence', …, '/repo/test-support']
 */
export function workspacePackages(root: string): string[] {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces?: string[] };
  return (manifest.workspaces ?? []).map((w) => join(root, w));
}
