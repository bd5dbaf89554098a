/**
 * Summarizes V8 CPU profiles (`bench/gateway.ts --profile DIR` writes one per gateway process):
 * self time by function and by area (Node's TLS and streams, the gateway, the verifier, GC,
 * idle), as a share of the sampled time, so the note can say where a terminator's CPU goes.
 *   node --conditions=development --import tsx bench/profile-summary.ts DIR/*.cpuprofile [--top 25]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The area a frame belongs to, from its script URL (and V8's pseudo-frames). */
export function areaOf(fn: string, url: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'gc';
  if (fn === '(program)') return 'program (native, unattributed)';
  if (url.includes('/packages/cli/src/gateway/')) return 'gateway';
  if (url.includes('/packages/verifier/')) return 'verifier';
  if (url.includes('/packages/evidence/')) return 'evidence';
  if (url.includes('node_modules')) return 'dependencies';
  if (/node:internal\/(tls|crypto)|node:_tls|node:tls/.test(url)) return 'node tls';
  if (/node:internal\/(streams|stream_base)|node:stream|node:net|node:internal\/net/.test(url))
    return 'node net+streams';
  if (url.startsWith('node:')) return 'node other';
  return url === '' ? 'native' : 'other';
}

function summarize(path: string, top: number): void {
  const p = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Loading modules (through tsx in development) is start-up, not serving: counted apart.
  const loading = new Map<number, boolean>();
  const isLoading = (id: number): boolean => {
    const known = loading.get(id);
    if (known !== undefined) return known;
    const url = byId.get(id)?.callFrame.url ?? '';
    const up = parent.get(id);
    const v = url.startsWith('node:internal/modules/') || url.includes('/tsx/') || (up !== undefined && isLoading(up));
    loading.set(id, v);
    return v;
  };
  const self = new Map<number, number>();
  let total = 0;
  let startup = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    if (isLoading(id)) startup += dt;
    else self.set(id, (self.get(id) ?? 0) + dt);
  });
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName: fn, url, lineNumber } = n.callFrame;
    const key = `${fn || '(anonymous)'} ${url ? `${url.replace(/^.*\/(packages|node_modules)\//, '$1/')}:${lineNumber + 1}` : ''}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
    const a = areaOf(fn, url);
    byArea.set(a, (byArea.get(a) ?? 0) + t);
  }
  const busy = total - startup - (byArea.get('idle') ?? 0);
  const pct = (t: number) => `${((100 * t) / busy).toFixed(1).padStart(5)} %`;
  console.log(
    `${basename(path)}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy serving, ${(startup / 1e6).toFixed(1)} s loading modules (shares of the busy time)`,
  );
  for (const [a, t] of [...byArea].filter(([a]) => a !== 'idle').sort((x, y) => y[1] - x[1])) {
    console.log(`  ${pct(t)}  ${a}`);
  }
  console.log('  top functions by self time:');
  for (const [k, t] of [...byFn]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)) {
    console.log(`  ${pct(t)}  ${k}`);
  }
}

const args = process.argv.slice(2);
const ti = args.indexOf('--top');
const top = ti >= 0 ? Number(args[ti + 1]) : 25;
for (const f of args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--top')) summarize(f, top);
