/**
 * Finds broken relative links in the repository's Markdown (README.md, docs/, any other .md): a
 * link to a file that does not exist, or to a `#heading` that the target file does not have
 * (GitHub's anchor rules: lower case, punctuation dropped, spaces to hyphens, repeats numbered). External links (http:, https:, mailto:) are not fetched. Code spans and fenced
 * blocks are skipped, so examples of link syntax are not read as links.
 *
 *   node --import tsx scripts/doc-links.ts        # prints each broken link, exits 1 if any
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BrokenLink {
  /** The Markdown file, relative to the root. */
  file: string;
  line: number;
  target: string;
  why: 'missing file' | 'missing anchor';
}

/** Markdown text without fenced blocks and code spans (kept as blank space, so lines still count). */
function prose(text: string): string[] {
  let fenced = false;
  return text.split('\n').map((line) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return '';
    }
    return fenced ? '' : line.replace(/`[^`]*`/g, (m) => ' '.repeat(m.length));
  });
}

/** The anchors GitHub gives a file's headings. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m?.[1]) continue;
    const slug = m[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

function markdownFiles(root: string, dir: string, out: string[]): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) markdownFiles(root, p, out);
    else if (name.endsWith('.md')) out.push(p);
  }
  return out;
}

/**
 * Every broken relative link in the Markdown files under `root` (README.md, docs/, and any other
 * `.md` outside node_modules, dist and dot-folders).
 * @example brokenDocLinks('.') // [{ file: 'docs/gateway.md', line: 12, target: './nope.md', why: 'missing file' }]
 */
export function brokenDocLinks(root: string): BrokenLink[] {
  const broken: BrokenLink[] = [];
  const cache = new Map<string, Set<string>>();
  const anchorsOf = (path: string) => {
    const known = cache.get(path);
    if (known) return known;
    const a = anchors(readFileSync(path, 'utf8'));
    cache.set(path, a);
    return a;
  };
  for (const file of markdownFiles(root, root, [])) {
    const lines = prose(readFileSync(file, 'utf8'));
    lines.forEach((line, i) => {
      // Inline links and images: [text](target "title"); reference definitions: [id]: target.
      const targets = [
        ...[...line.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1] as string),
        ...[...line.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)].map((m) => m[1] as string),
      ];
      for (const target of targets) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const [pathPart = '', anchor] = target.split('#', 2);
        const path = pathPart === '' ? file : resolve(dirname(file), decodeURIComponent(pathPart));
        const at = { file: relative(root, file), line: i + 1, target };
        if (!existsSync(path)) {
          broken.push({ ...at, why: 'missing file' });
        } else if (anchor && path.endsWith('.md') && !anchorsOf(path).has(decodeURIComponent(anchor).toLowerCase())) {
          broken.push({ ...at, why: 'missing anchor' });
        }
      }
    });
  }
  return broken;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const broken = brokenDocLinks(root);
  for (const b of broken) console.log(`${b.file}:${b.line}: ${b.why}: ${b.target}`);
  process.exit(broken.length ? 1 : 0);
}
