/** Classifies what one verification call did, and tallies outcomes into a printable table. */
import { RatlsError } from '@ratls/evidence';

export type Outcome =
  | { status: 'refused'; code: string; ms: number }
  | { status: 'accepted'; ms: number }
  | { status: 'untyped'; error: string; ms: number }
  | { status: 'hang'; ms: number };

export async function classify(call: () => Promise<unknown>): Promise<Outcome> {
  const t0 = performance.now();
  try {
    await call();
    return { status: 'accepted', ms: performance.now() - t0 };
  } catch (e) {
    const ms = performance.now() - t0;
    if (e instanceof RatlsError && typeof e.code === 'string' && e.code.startsWith('ERR_')) {
      return { status: 'refused', code: e.code, ms };
    }
    const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { status: 'untyped', error, ms };
  }
}

export interface Row {
  generated: number;
  refused: number;
  accepted: number;
  unsigned: number;
  untyped: number;
  hang: number;
}

export class Tally {
  readonly byRegion = new Map<string, Row>();
  readonly codes = new Map<string, number>();
  readonly findings: { subject: string; region: string; detail: string }[] = [];
  maxMs = 0;

  add(m: { subject: string; region: string; expect: 'refuse' | 'unsigned' }, o: Outcome, label: string): void {
    const row = this.byRegion.get(m.region) ?? {
      generated: 0,
      refused: 0,
      accepted: 0,
      unsigned: 0,
      untyped: 0,
      hang: 0,
    };
    row.generated++;
    this.maxMs = Math.max(this.maxMs, o.ms);
    if (o.status === 'refused') {
      row.refused++;
      this.codes.set(o.code, (this.codes.get(o.code) ?? 0) + 1);
    } else if (o.status === 'accepted') {
      if (m.expect === 'unsigned') row.unsigned++;
      else {
        row.accepted++;
        this.findings.push({ subject: m.subject, region: m.region, detail: `accepted: ${label}` });
      }
    } else if (o.status === 'untyped') {
      row.untyped++;
      this.findings.push({ subject: m.subject, region: m.region, detail: `untyped ${o.error}: ${label}` });
    } else {
      row.hang++;
      this.findings.push({ subject: m.subject, region: m.region, detail: `no answer in ${o.ms} ms: ${label}` });
    }
    this.byRegion.set(m.region, row);
  }

  total(): Row {
    const t: Row = { generated: 0, refused: 0, accepted: 0, unsigned: 0, untyped: 0, hang: 0 };
    for (const r of this.byRegion.values()) {
      for (const k of Object.keys(t) as (keyof Row)[]) t[k] += r[k];
    }
    return t;
  }

  table(): string {
    const cols: (keyof Row)[] = ['generated', 'refused', 'accepted', 'unsigned', 'untyped', 'hang'];
    const lines = [`${'region'.padEnd(24)}${cols.map((c) => c.padStart(10)).join('')}`];
    const rows = [...this.byRegion].sort(([a], [b]) => a.localeCompare(b));
    for (const [name, r] of [...rows, ['TOTAL', this.total()] as [string, Row]]) {
      lines.push(`${name.padEnd(24)}${cols.map((c) => String(r[c]).padStart(10)).join('')}`);
    }
    lines.push('', 'error codes seen:');
    for (const [code, n] of [...this.codes].sort((a, b) => b[1] - a[1])) lines.push(`  ${code.padEnd(36)} ${n}`);
    lines.push('', `slowest mutant: ${this.maxMs.toFixed(1)} ms`);
    return lines.join('\n');
  }
}
