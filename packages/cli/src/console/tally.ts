/**
 * The console's counts, computed the same way for the live page (ConsoleHub) and the static
 * report (`ratls report`): per identity, per reason, the policy hash and reload history, and
 * decisions per minute. Pure and bounded: the audit stream can be long, the summary stays small.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '@ratls/verifier';
import { type DecisionWhy, explainDecision } from './explain.js';

/** One identity's line: decisions naming it (accepted) or closest to it (refused). */
export interface IdentityRow {
  name: string;
  allowed: number;
  denied: number;
  /** ISO time of the latest decision. */
  lastSeen: string;
  tee: Record<string, number>;
  tcb: Record<string, number>;
}

/** One part of a reload: a policy applied, or a part refused (its previous version kept). */
export interface ReloadPart {
  ok: boolean;
  /** The refusal's code. */
  code?: string;
  message: string;
}

/**
 * One reload. The gateway writes one policy-reload event per part applied or refused, all at the
 * same instant (reload.ts), so the events of one reload share their `@timestamp` and gather here.
 */
export interface ReloadRow {
  at: string;
  /** Every part applied. */
  ok: boolean;
  /** The last policy hash it put in force. */
  hash?: string;
  message: string;
  parts: ReloadPart[];
}

export interface TimeBucket {
  /** Start of the minute, Unix ms. */
  t: number;
  allowed: number;
  denied: number;
}

/** Collateral as the decisions saw it: per FMSPC or SNP product, the latest decision's window end. */
export interface CollateralSeenRow {
  /** `tee/fmspc` or `sev-snp/product`. */
  key: string;
  /** ISO 8601: the end of the collateral window of the latest decision that relied on it. */
  notAfter: string;
  /** ISO 8601: that decision's time. */
  lastSeen: string;
}

export interface ConsoleSummary {
  total: number;
  allowed: number;
  denied: number;
  reasons: Record<string, number>;
  /** Accepts that only a waiver (or the OutOfDate grace window) allowed, by waiver name. */
  waived: Record<string, number>;
  identities: IdentityRow[];
  collateral: CollateralSeenRow[];
  policyHash?: string;
  reloads: ReloadRow[];
  bucketMs: number;
  timeline: TimeBucket[];
}

/** Bounds: identity names come from the policy, but a bound costs nothing and a long log is long. */
export const MAX_IDENTITIES = 512;
export const MAX_RELOADS = 50;
export const MAX_BUCKETS = 1440;
const MAX_PARTS = 32;
const MAX_COLLATERAL = 64;
const MAX_KEYS = 32;
const BUCKET_MS = 60_000;
/** Refusals that name no identity at all (verification failed, nothing close). */
export const NO_IDENTITY = '(none)';

/**
 * True for a connection decision (accept or refuse), not an HTTP request, close or reload event.
 * @example isDecision(ev) // true for event.action 'ratls-handshake'
 */
export function isDecision(ev: AuditEvent): boolean {
  const t = ev.event?.type ?? [];
  const c = ev.event?.category ?? [];
  return c.includes('network') && !c.includes('web') && (t.includes('allowed') || t.includes('denied'));
}

/**
 * A stable id for an audit event: its own `event.id` when the writer set one, else the first 96
 * bits of SHA-256 over its JSON (the same for the live console, alerts and a report of the file).
 * @example eventId(ev) // '3f1c…' (24 hex digits)
 */
export function eventId(ev: AuditEvent): string {
  const own = (ev.event as { id?: unknown }).id;
  if (typeof own === 'string' && own.length > 0 && own.length <= 128) return own;
  return createHash('sha256').update(JSON.stringify(ev)).digest('hex').slice(0, 24);
}

function bump(m: Record<string, number>, k: string | undefined): void {
  const key = k ?? 'unknown';
  if (key in m || Object.keys(m).length < MAX_KEYS) m[key] = (m[key] ?? 0) + 1;
}

/**
 * Accumulates audit events into a ConsoleSummary.
 * @example const t = new Tally(); for (const ev of events) t.add(ev); t.summary().denied
 */
export class Tally {
  #total = 0;
  #allowed = 0;
  #reasons: Record<string, number> = Object.create(null);
  #waived: Record<string, number> = Object.create(null);
  #ids = new Map<string, IdentityRow>();
  #reloads: ReloadRow[] = [];
  #policyHash: string | undefined;
  #buckets = new Map<number, TimeBucket>();
  #collateral = new Map<string, CollateralSeenRow>();

  /** `why` is the decision's explanation when the caller already has it (the one reading of the trace). */
  add(ev: AuditEvent, why?: DecisionWhy): void {
    if (ev.event?.action === 'policy-reload') {
      const ok = ev.event.outcome === 'success';
      const hash = ev.attestation?.policy_hash;
      const code = ev.error?.code;
      const part: ReloadPart = { ok, ...(code ? { code } : {}), message: ev.message };
      const last = this.#reloads.at(-1);
      if (last && last.at === ev['@timestamp']) {
        if (last.parts.length < MAX_PARTS) last.parts.push(part);
        last.ok &&= ok;
        if (ok && hash) last.hash = hash;
      } else {
        this.#reloads.push({ at: ev['@timestamp'], ok, ...(hash ? { hash } : {}), message: ev.message, parts: [part] });
        if (this.#reloads.length > MAX_RELOADS) this.#reloads.shift();
      }
      if (ok && hash) this.#policyHash = hash;
      return;
    }
    if (!isDecision(ev)) return;
    const allowed = ev.event.outcome === 'success';
    this.#total++;
    if (allowed) this.#allowed++;
    bump(this.#reasons, ev.event.reason);
    const a = ev.attestation;
    if (allowed && a?.waiver) for (const w of a.waiver.split(',')) bump(this.#waived, w);
    if (a?.policy_hash) this.#policyHash = a.policy_hash;
    // The one reading of who the peer is (or came closest to being): the rows and alerts say the same.
    const w = why ?? explainDecision(ev);
    const name = w.identity ?? NO_IDENTITY;
    let row = this.#ids.get(name);
    if (!row && this.#ids.size < MAX_IDENTITIES) {
      row = { name, allowed: 0, denied: 0, lastSeen: ev['@timestamp'], tee: {}, tcb: {} };
      this.#ids.set(name, row);
    }
    const col = w.collateral;
    if (col) {
      const seen = this.#collateral.get(col.key);
      if (seen ? ev['@timestamp'] >= seen.lastSeen : this.#collateral.size < MAX_COLLATERAL) {
        this.#collateral.set(col.key, { key: col.key, notAfter: col.notAfter, lastSeen: ev['@timestamp'] });
      }
    }
    if (row) {
      if (allowed) row.allowed++;
      else row.denied++;
      if (ev['@timestamp'] > row.lastSeen) row.lastSeen = ev['@timestamp'];
      if (a?.tee) bump(row.tee, a.tee);
      if (a?.tcb_status) bump(row.tcb, a.tcb_status);
    }
    const ms = Date.parse(ev['@timestamp']);
    if (Number.isFinite(ms)) {
      const t = ms - (ms % BUCKET_MS);
      let b = this.#buckets.get(t);
      if (!b) {
        b = { t, allowed: 0, denied: 0 };
        this.#buckets.set(t, b);
        if (this.#buckets.size > MAX_BUCKETS) {
          const oldest = Math.min(...this.#buckets.keys());
          this.#buckets.delete(oldest);
        }
      }
      if (allowed) b.allowed++;
      else b.denied++;
    }
  }

  summary(): ConsoleSummary {
    return {
      total: this.#total,
      allowed: this.#allowed,
      denied: this.#total - this.#allowed,
      reasons: { ...this.#reasons },
      waived: { ...this.#waived },
      identities: [...this.#ids.values()].map((r) => ({ ...r, tee: { ...r.tee }, tcb: { ...r.tcb } })),
      collateral: [...this.#collateral.values()].map((r) => ({ ...r })),
      ...(this.#policyHash ? { policyHash: this.#policyHash } : {}),
      reloads: this.#reloads.map((r) => ({ ...r, parts: [...r.parts] })),
      bucketMs: BUCKET_MS,
      timeline: [...this.#buckets.values()].sort((x, y) => x.t - y.t),
    };
  }
}
