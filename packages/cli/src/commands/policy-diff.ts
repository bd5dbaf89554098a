/**
 * `ratls policy diff <old> <new> [--json]`: what a policy edit changes about who gets in, identity
 * by identity: added, removed, renamed (same measurements under a new name), each pinned value
 * added or dropped, each condition loosened or tightened, order (the first match names the peer),
 * waivers and the version (2 requires SEV-SNP VMPL 0). Exit 0 when nothing changed, 1 otherwise.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Policy, PolicyIdentity } from '@ratls/verifier';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { EXIT_OK, EXIT_REFUSED } from '../io.js';
import { loadPolicyOrUsage } from './policy-load.js';

export interface PolicyChange {
  kind: 'added' | 'removed' | 'renamed' | 'changed' | 'reordered' | 'defaults' | 'waiver' | 'version';
  identity?: string;
  detail: string;
}

const short = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 16 && /^[0-9a-f]+$/.test(s) ? `${s.slice(0, 12)}…` : s;
};

function teeOf(id: PolicyIdentity): { kind: string; section: Record<string, unknown> } {
  const section = (id as unknown as Record<string, Record<string, unknown>>)[id.kind] ?? {};
  return { kind: id.kind, section };
}

/** Field-by-field differences of two plain records (lists compared as sets of values). */
function fieldChanges(prefix: string, a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[k];
    const y = b[k];
    if (isDeepStrictEqual(x, y)) continue;
    const name = `${prefix}${k}`;
    if (x === undefined) out.push(`${name} now pinned: ${short(y)}`);
    else if (y === undefined) out.push(`${name} no longer pinned (was ${short(x)})`);
    else if (Array.isArray(x) && Array.isArray(y)) {
      const added = y.filter((v) => !x.some((w) => isDeepStrictEqual(v, w)));
      const dropped = x.filter((v) => !y.some((w) => isDeepStrictEqual(v, w)));
      const parts = [...added.map((v) => `+${short(v)}`), ...dropped.map((v) => `-${short(v)}`)];
      out.push(`${name}: ${parts.length ? parts.join(' ') : 'reordered'}`);
    } else if (typeof x === 'object' && typeof y === 'object' && x !== null && y !== null) {
      out.push(...fieldChanges(`${name}.`, x as Record<string, unknown>, y as Record<string, unknown>));
    } else out.push(`${name}: ${short(x)} → ${short(y)}`);
  }
  return out;
}

/**
 * The identity-level differences between two parsed policies.
 * @example diffPolicies(await loadPolicyFile('old.yaml'), await loadPolicyFile('new.yaml'))
 */
export function diffPolicies(a: Policy, b: Policy): PolicyChange[] {
  const out: PolicyChange[] = [];
  if (a.version !== b.version) {
    out.push({
      kind: 'version',
      detail: `version ${a.version} → ${b.version}${b.version === 2 ? ': SEV-SNP identities without vmpl now require VMPL 0' : ''}`,
    });
  }
  for (const d of fieldChanges('defaults.', { ...a.defaults }, { ...b.defaults })) {
    out.push({ kind: 'defaults', detail: d });
  }
  const oldByName = new Map(a.identities.map((i) => [i.name, i]));
  const newByName = new Map(b.identities.map((i) => [i.name, i]));
  const goneNames = a.identities.filter((i) => !newByName.has(i.name));
  /** old name → new name */
  const renamedTo = new Map<string, string>();
  for (const id of b.identities) {
    const before = oldByName.get(id.name);
    if (!before) {
      const same = goneNames.find((g) => !renamedTo.has(g.name) && isDeepStrictEqual(teeOf(g), teeOf(id)));
      if (same) {
        renamedTo.set(same.name, id.name);
        out.push({
          kind: 'renamed',
          identity: id.name,
          detail: `${same.name} renamed to ${id.name} (same measurements)`,
        });
      } else out.push({ kind: 'added', identity: id.name, detail: `${id.name} added (${id.kind})` });
      continue;
    }
    const changes =
      before.kind !== id.kind
        ? [`tee ${before.kind} → ${id.kind}`]
        : fieldChanges(`${id.kind}.`, teeOf(before).section, teeOf(id).section);
    // A condition that only follows a defaults change is reported once, under defaults.
    const effA: Record<string, unknown> = { ...before.effective };
    const effB: Record<string, unknown> = { ...id.effective };
    const defA: Record<string, unknown> = { ...a.defaults };
    const defB: Record<string, unknown> = { ...b.defaults };
    for (const k of Object.keys({ ...effA, ...effB })) {
      if (isDeepStrictEqual(effA[k], defA[k]) && isDeepStrictEqual(effB[k], defB[k])) {
        delete effA[k];
        delete effB[k];
      }
    }
    changes.push(...fieldChanges('', effA, effB));
    for (const c of changes) out.push({ kind: 'changed', identity: id.name, detail: `${id.name}: ${c}` });
  }
  for (const g of goneNames) {
    if (!renamedTo.has(g.name))
      out.push({ kind: 'removed', identity: g.name, detail: `${g.name} removed: its peers are refused` });
  }
  const oldOrder = a.identities.map((i) => renamedTo.get(i.name) ?? i.name).filter((n) => newByName.has(n));
  const kept = new Set(oldOrder);
  const newOrder = b.identities.map((i) => i.name).filter((n) => kept.has(n));
  if (!isDeepStrictEqual(oldOrder, newOrder)) {
    out.push({
      kind: 'reordered',
      detail: `match order ${oldOrder.join(', ')} → ${newOrder.join(', ')} (the first match names the peer)`,
    });
  }
  const oldW = new Map(a.waivers.map((w) => [w.name, w]));
  const newW = new Map(b.waivers.map((w) => [w.name, w]));
  const iso = (s: number) => new Date(s * 1000).toISOString();
  for (const w of b.waivers) {
    const o = oldW.get(w.name);
    if (!o) out.push({ kind: 'waiver', detail: `waiver ${w.name} added until ${iso(w.until)}: ${w.reason}` });
    else
      for (const c of fieldChanges(`waiver ${w.name} `, { ...o, until: iso(o.until) }, { ...w, until: iso(w.until) })) {
        out.push({ kind: 'waiver', detail: c });
      }
  }
  for (const w of a.waivers) if (!newW.has(w.name)) out.push({ kind: 'waiver', detail: `waiver ${w.name} removed` });
  return out;
}

/** Registers `policy diff` under the `policy` command. */
export function registerPolicyDiff(policy: Command, ctx: CommandContext): void {
  policy
    .command('diff')
    .description('explain what changes between two policy files, identity by identity (exit 0 same, 1 different)')
    .argument('<old>')
    .argument('<new>')
    .option('--json', 'print one JSON object')
    .action(async (oldFile: string, newFile: string, flags: { json?: boolean }) => {
      const a = await loadPolicyOrUsage(oldFile);
      const b = await loadPolicyOrUsage(newFile);
      const changes = diffPolicies(a, b);
      if (flags.json) ctx.out(JSON.stringify({ old: a.hash, new: b.hash, changes }));
      else if (changes.length === 0) ctx.out('no changes in identities, conditions or waivers');
      else for (const c of changes) ctx.out(`${c.kind.padEnd(9)} ${c.detail}`);
      ctx.exitCode = changes.length === 0 ? EXIT_OK : EXIT_REFUSED;
    });
}
