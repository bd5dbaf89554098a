/**
 * The zod schema of a policy file. It runs over plain values produced from the YAML document
 * (see parse.ts), where plain numeric scalars arrive as `PlainNumber` so a hex value that YAML
 * would read as a number (an all-digit PCR, `0000…`) keeps its exact source text.
 */
import { z } from 'zod';
import type { TcbStatus } from '../result.js';
import { SNP_POLICY_BITS, TCB_STATUSES, TD_ATTRIBUTE_BITS } from './types.js';

/** A plain (unquoted) YAML scalar that the core schema resolves to a number. */
export class PlainNumber {
  constructor(
    readonly value: number,
    readonly source: string,
  ) {}
}

const HEX_RE = /^[0-9a-fA-F]*$/;
const MAX_LIST = 1024;

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = v instanceof PlainNumber ? v.source : typeof v === 'string' ? `'${v}'` : JSON.stringify(v);
  const t = s ?? String(v);
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}

function typeName(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PlainNumber) return 'a number';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`;
}

/** Checks one hex value of `bytes` bytes; returns the lower-case text or an error message. */
function checkHex(v: unknown, bytes: number): { ok: string } | { error: string } {
  const s = v instanceof PlainNumber ? v.source : v;
  if (typeof s !== 'string') return { error: `expected a hex string, got ${typeName(v)}` };
  if (!HEX_RE.test(s)) {
    const at = [...s].findIndex((c) => !/[0-9a-fA-F]/.test(c));
    return { error: `expected hex characters only, found ${JSON.stringify(s[at])} at position ${at}` };
  }
  if (s.length !== bytes * 2) return { error: `expected ${bytes * 2} hex characters, got ${s.length}` };
  return { ok: s.toLowerCase() };
}

/** One hex value of a fixed width. */
export function hexOne(bytes: number) {
  return z.unknown().transform((v, ctx) => {
    const r = checkHex(v, bytes);
    if ('error' in r) {
      ctx.addIssue({ code: 'custom', message: r.error });
      return z.NEVER;
    }
    return r.ok;
  });
}

/** One hex string or a non-empty list of them; normalized to a list. */
export function hexList(bytes: number) {
  return z.unknown().transform((v, ctx) => {
    const list = Array.isArray(v);
    const items: unknown[] = list ? (v as unknown[]) : [v];
    if (items.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'expected at least one hex value, got an empty list' });
      return z.NEVER;
    }
    if (items.length > MAX_LIST) {
      ctx.addIssue({ code: 'custom', message: `expected at most ${MAX_LIST} values, got ${items.length}` });
      return z.NEVER;
    }
    const out: string[] = [];
    items.forEach((it, i) => {
      const r = checkHex(it, bytes);
      if ('error' in r) ctx.addIssue({ code: 'custom', message: r.error, path: list ? [i] : [] });
      else out.push(r.ok);
    });
    return out;
  });
}

function int(min: number, max: number) {
  return z.unknown().transform((v, ctx) => {
    const n = v instanceof PlainNumber ? v.value : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) {
      ctx.addIssue({ code: 'custom', message: `expected an integer, got ${typeName(v)} ${show(v)}` });
      return z.NEVER;
    }
    if (n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `expected an integer in ${min}..${max}, got ${n}` });
      return z.NEVER;
    }
    return n;
  });
}

const bool = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'boolean') {
    ctx.addIssue({ code: 'custom', message: `expected true or false, got ${typeName(v)} ${show(v)}` });
    return z.NEVER;
  }
  return v;
});

function checkTcbStatus(v: unknown): TcbStatus | string {
  if (typeof v === 'string' && (TCB_STATUSES as readonly string[]).includes(v)) return v as TcbStatus;
  return `unknown tcbStatus ${show(v)}; expected one of ${TCB_STATUSES.join(', ')}`;
}

/** One status or a list of them; normalized to a list. */
const tcbStatusList = z.unknown().transform((v, ctx) => {
  const list = Array.isArray(v);
  const items: unknown[] = list ? (v as unknown[]) : [v];
  if (items.length > TCB_STATUSES.length * 2) {
    ctx.addIssue({ code: 'custom', message: `expected at most ${TCB_STATUSES.length} statuses, got ${items.length}` });
    return z.NEVER;
  }
  const out: TcbStatus[] = [];
  items.forEach((it, i) => {
    const r = checkTcbStatus(it);
    if ((TCB_STATUSES as readonly string[]).includes(r)) out.push(r as TcbStatus);
    else ctx.addIssue({ code: 'custom', message: r, path: list ? [i] : [] });
  });
  return out;
});

const ADVISORY_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const advisory = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string' || !ADVISORY_RE.test(v)) {
    ctx.addIssue({ code: 'custom', message: `expected an advisory ID like INTEL-SA-00334, got ${show(v)}` });
    return z.NEVER;
  }
  return v.toUpperCase();
});

const advisories = z.strictObject({
  allow: z.array(advisory).max(MAX_LIST).optional(),
  deny: z.array(advisory).max(MAX_LIST).optional(),
});

// --- freshness (issue 13: channel-bound fresh attestation) ---
/** `certificate`: evidence in the peer certificate suffices; `channel`: fresh evidence bound to this connection. */
const freshness = z.unknown().transform((v, ctx) => {
  if (v !== 'certificate' && v !== 'channel') {
    ctx.addIssue({ code: 'custom', message: `expected freshness certificate or channel, got ${show(v)}` });
    return z.NEVER;
  }
  return v;
});
function freshnessFields() {
  return { freshness: freshness.optional() };
}
// --- end freshness ---

/** Ten years: anything longer is a typo, not a policy. */
const MAX_AGE = 10 * 366 * 86400;

// ---- issue 17 (TCB lifecycle, new pinnable fields, version 2) ----

/** RFC 3339 date or date-time in UTC (`2026-03-01` or `2026-03-01T12:00:00Z`), as unix seconds. */
const ISO_DATE_RE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?Z)?$/;
const isoDate = z.unknown().transform((v, ctx) => {
  const ms = typeof v === 'string' && ISO_DATE_RE.test(v) ? Date.parse(v) : Number.NaN;
  if (!Number.isFinite(ms)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a UTC date like 2026-03-01 or 2026-03-01T00:00:00Z, got ${show(v)}`,
    });
    return z.NEVER;
  }
  return Math.floor(ms / 1000);
});

/** `{ BIT_NAME: true|false }` over a fixed vocabulary: an unknown name is an error, not ignored. */
function namedBits<T extends Record<string, number>>(bits: T) {
  const shape = Object.fromEntries(Object.keys(bits).map((k) => [k, bool.optional()])) as {
    [K in keyof T]: z.ZodOptional<typeof bool>;
  };
  return z.strictObject(shape);
}

const reasonText = z.unknown().transform((v, ctx) => {
  if (typeof v !== 'string' || v.trim().length === 0 || v.length > 512) {
    ctx.addIssue({ code: 'custom', message: `expected a reason of 1..512 characters, got ${show(v)}` });
    return z.NEVER;
  }
  return v;
});

const lifecycleFields = {
  minTcbDate: isoDate.optional(),
  outOfDateGraceDays: int(1, 366).optional(),
  // The grace anchor is Intel's signed tcbRecoveryEventDate. Only a policy that names the
  // fallback gets the older anchor (the next newer level's tcbDate) when that data is missing.
  outOfDateGraceAnchor: z.enum(['tcbRecoveryEventDate', 'tcbRecoveryEventDateElseLevelTcbDate']).optional(),
};

// ---- end issue 17 block ----

const gateFields = {
  tcbStatus: tcbStatusList.optional(),
  advisories: advisories.optional(),
  debug: bool.optional(),
  simulated: bool.optional(),
  maxCertificateAge: int(1, MAX_AGE).optional(),
  ...freshnessFields(),
  ...lifecycleFields,
};

function masked(bytes: number) {
  return z.strictObject({ mask: hexOne(bytes), value: hexOne(bytes) }).superRefine((m, ctx) => {
    const mask = Buffer.from(m.mask, 'hex');
    const value = Buffer.from(m.value, 'hex');
    for (let i = 0; i < mask.length; i++) {
      if (((value[i] as number) & ~(mask[i] as number)) !== 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['value'],
          message: 'value has bits outside mask, so it can never match',
        });
        return;
      }
    }
  });
}

function requireOneOf<T extends object>(section: string, keys: readonly (keyof T & string)[]) {
  return (o: T, ctx: z.RefinementCtx) => {
    if (!keys.some((k) => o[k] !== undefined)) {
      ctx.addIssue({ code: 'custom', message: `${section} identity must pin at least one of ${keys.join(', ')}` });
    }
  };
}

const sgx = z
  .strictObject({
    mrEnclave: hexList(32).optional(),
    mrSigner: hexList(32).optional(),
    isvProdId: int(0, 0xffff).optional(),
    minIsvSvn: int(0, 0xffff).optional(),
    attributes: masked(16).optional(),
  })
  .superRefine(requireOneOf('sgx', ['mrEnclave', 'mrSigner']));

const tdx = z
  .strictObject({
    mrTd: hexList(48).optional(),
    rtmr0: hexList(48).optional(),
    rtmr1: hexList(48).optional(),
    rtmr2: hexList(48).optional(),
    rtmr3: hexList(48).optional(),
    mrSeam: hexList(48).optional(),
    mrConfigId: hexList(48).optional(),
    mrOwner: hexList(48).optional(),
    mrOwnerConfig: hexList(48).optional(),
    tdAttributes: masked(8).optional(),
    // issue 17
    mrServiceTd: hexList(48).optional(),
    xfam: masked(8).optional(),
    tdAttributeBits: namedBits(TD_ATTRIBUTE_BITS).optional(),
  })
  .superRefine(requireOneOf('tdx', ['mrTd', 'rtmr0', 'rtmr1', 'rtmr2', 'rtmr3']));

const snp = z
  .strictObject({
    measurement: hexList(48).optional(),
    hostData: hexList(32).optional(),
    idKeyDigest: hexList(48).optional(),
    authorKeyDigest: hexList(48).optional(),
    minTcb: z
      .strictObject({
        bootloader: int(0, 255).optional(),
        tee: int(0, 255).optional(),
        snp: int(0, 255).optional(),
        microcode: int(0, 255).optional(),
      })
      .optional(),
    vmpl: int(0, 3).optional(),
    // issue 17
    chipId: hexList(64).optional(),
    policyBits: namedBits(SNP_POLICY_BITS).optional(),
  })
  .superRefine(requireOneOf('snp', ['measurement', 'idKeyDigest', 'authorKeyDigest']));

const nitro = z
  .strictObject({
    pcr0: hexList(48).optional(),
    pcr1: hexList(48).optional(),
    pcr2: hexList(48).optional(),
    pcr3: hexList(48).optional(),
    pcr4: hexList(48).optional(),
    pcr8: hexList(48).optional(),
  })
  .superRefine(requireOneOf('nitro', ['pcr0', 'pcr2', 'pcr8']));

/** Identity names travel in HTTP headers and metric labels, so keep them plain. */
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/;
const name = z.unknown().transform((v, ctx) => {
  if (v === undefined) {
    ctx.addIssue({ code: 'custom', message: 'required field is missing' });
    return z.NEVER;
  }
  if (typeof v !== 'string' || !NAME_RE.test(v)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a name of 1..128 characters from [A-Za-z0-9._:@/-], starting with a letter or digit, got ${show(v)}`,
    });
    return z.NEVER;
  }
  return v;
});

export const TEE_KEYS = ['sgx', 'tdx', 'snp', 'nitro'] as const;

const identity = z.strictObject({
  name,
  sgx: sgx.optional(),
  tdx: tdx.optional(),
  snp: snp.optional(),
  nitro: nitro.optional(),
  ...gateFields,
});

/**
 * Checks that do not depend on the rest of the file being valid (zod skips refinements once a
 * subtree has issues), so they always run: one tee section per identity, unique names.
 */
export function structuralIssues(plain: unknown): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const ids = (plain as { identities?: unknown }).identities;
  if (!Array.isArray(ids)) return out;
  const seen = new Map<string, number>();
  ids.forEach((id: unknown, i) => {
    if (id === null || typeof id !== 'object' || Array.isArray(id)) return;
    const o = id as Record<string, unknown>;
    const present = TEE_KEYS.filter((k) => Object.hasOwn(o, k));
    if (present.length === 0) {
      out.push({ path: ['identities', i], message: 'identity has no tee section (one of sgx, tdx, snp, nitro)' });
    } else if (present.length > 1) {
      out.push({
        path: ['identities', i, present[1] as string],
        message: `identity has two tee sections (${present.join(', ')}); use one identity per TEE`,
      });
    }
    if (typeof o.name === 'string') {
      const first = seen.get(o.name);
      if (first !== undefined) {
        out.push({
          path: ['identities', i, 'name'],
          message: `duplicate identity name '${o.name}' (first at identities[${first}])`,
        });
      } else seen.set(o.name, i);
    }
  });
  return out;
}

const version = z.unknown().transform((v, ctx) => {
  const n = v instanceof PlainNumber ? v.value : v;
  if (v === undefined) {
    ctx.addIssue({ code: 'custom', message: 'required field is missing' });
    return z.NEVER;
  }
  if (n !== 1 && n !== 2) {
    ctx.addIssue({ code: 'custom', message: `unsupported policy version ${show(v)}; expected 1 or 2` });
    return z.NEVER;
  }
  return n as 1 | 2;
});

// issue 17: dated waivers.
const waiver = z
  .strictObject({
    name,
    identities: z.array(name).min(1).max(MAX_LIST).optional(),
    tcbStatus: tcbStatusList.optional(),
    advisories: z.array(advisory).max(MAX_LIST).optional(),
    until: isoDate,
    reason: reasonText,
  })
  .superRefine((w, ctx) => {
    if ((w.tcbStatus?.length ?? 0) === 0 && (w.advisories?.length ?? 0) === 0) {
      ctx.addIssue({ code: 'custom', message: 'a waiver must name at least one tcbStatus or advisory' });
    }
    if (w.name === 'outOfDateGrace') {
      ctx.addIssue({ code: 'custom', path: ['name'], message: "'outOfDateGrace' is reserved for the grace window" });
    }
  });

export const policySchema = z.strictObject({
  version,
  defaults: z.strictObject(gateFields).optional(),
  identities: z.array(identity).min(1, 'expected at least one identity').max(MAX_LIST),
  // issue 17
  waivers: z.array(waiver).max(MAX_LIST).optional(),
});

export type PolicyInput = z.output<typeof policySchema>;
