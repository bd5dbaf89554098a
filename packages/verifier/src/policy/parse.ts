/**
 * Parses and validates a policy file. Every problem is reported with file, line, column and
 * field path, so an operator can fix the file without guessing.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { PolicyError } from '@ratls/evidence';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { PlainNumber, policySchema, structuralIssues, TEE_KEYS } from './schema.js';
import { knownKeysAt, unknownKeyMessage } from './suggest.js';
import type { Policy, PolicyDefaults, PolicyIdentity, PolicyIssue, Waiver } from './types.js';

/** Policy files are small; anything larger is a mistake or an attack on the parser. */
export const MAX_POLICY_BYTES = 1024 * 1024;
const MAX_REPORTED_ISSUES = 20;

/** A PolicyError carrying every located issue (code ERR_POLICY_INVALID). */
export class PolicyValidationError extends PolicyError {
  readonly issues: PolicyIssue[];
  constructor(issues: PolicyIssue[], options?: { cause?: unknown }) {
    const shown = issues.slice(0, MAX_REPORTED_ISSUES).map(formatIssue);
    if (issues.length > MAX_REPORTED_ISSUES) shown.push(`… and ${issues.length - MAX_REPORTED_ISSUES} more issues`);
    super('ERR_POLICY_INVALID', 'policy', shown.join('\n'), options);
    this.issues = issues;
  }
}

/** `policy.yaml:12:7: identities[1].sgx.mrEnclave[0]: expected 64 hex characters, got 62` */
export function formatIssue(i: PolicyIssue): string {
  return `${i.source}:${i.line}:${i.column}: ${i.path ? `${i.path}: ` : ''}${i.message}`;
}

type PathKey = string | number;

export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const k of path) out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  return out;
}

interface Loc {
  key?: number;
  value: number;
}

/** Converts the YAML tree to plain values, remembering where each path sits in the text. */
function toPlain(
  node: unknown,
  path: PathKey[],
  locs: Map<string, Loc>,
  problems: { at: number; message: string; path: string }[],
): unknown {
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    // Aliases buy nothing in a policy and open the door to expansion bombs.
    problems.push({
      at: node.range?.[0] ?? 0,
      message: 'YAML aliases are not allowed in policy files',
      path: formatPath(path),
    });
    return null;
  }
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'number' && node.type === 'PLAIN') return new PlainNumber(v, node.source ?? String(v));
    return v;
  }
  if (isSeq(node)) {
    return node.items.map((item, i) => {
      const p = [...path, i];
      const n = item as YamlNode | null;
      locs.set(formatPath(p), { value: n?.range?.[0] ?? node.range?.[0] ?? 0 });
      return toPlain(item, p, locs, problems);
    });
  }
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as YamlNode | null;
      const rawKey = isScalar(keyNode) ? keyNode.value : undefined;
      const keyAt = keyNode?.range?.[0] ?? node.range?.[0] ?? 0;
      if (typeof rawKey !== 'string' && typeof rawKey !== 'number') {
        problems.push({ at: keyAt, message: 'mapping keys must be plain strings', path: formatPath(path) });
        continue;
      }
      const key = String(rawKey);
      const p = [...path, key];
      const valueNode = pair.value as YamlNode | null;
      locs.set(formatPath(p), { key: keyAt, value: valueNode?.range?.[0] ?? keyAt });
      // defineProperty so a `__proto__` key is data, never a prototype change.
      Object.defineProperty(out, key, {
        value: toPlain(pair.value, p, locs, problems),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  problems.push({ at: 0, message: 'unsupported YAML node', path: formatPath(path) });
  return null;
}

function locate(locs: Map<string, Loc>, path: readonly PathKey[], useKey: boolean): number {
  for (let n = path.length; n > 0; n--) {
    const l = locs.get(formatPath(path.slice(0, n)));
    if (l) return useKey && n === path.length && l.key !== undefined ? l.key : l.value;
  }
  return 0;
}

const MAX_FLOW_DEPTH = 32;
const MAX_BLOCK_INDENT = 256;

/**
 * A lexical pre-check of nesting before the YAML parser sees the text: deeply nested input makes
 * the parser recurse or build huge regular expressions (it can exhaust memory at 200 KB), and a
 * real policy nests a handful of levels. Returns the offset and message of the first excess.
 */
function nestingProblem(text: string): { at: number; message: string } | undefined {
  let depth = 0;
  let quote: '"' | "'" | undefined;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (i === lineStart) {
      const lead = /^(?:[ \t]|-(?=[ \t]))*/.exec(text.slice(i, i + MAX_BLOCK_INDENT + 2))?.[0].length ?? 0;
      if (lead > MAX_BLOCK_INDENT) return { at: i, message: `indentation deeper than ${MAX_BLOCK_INDENT} columns` };
    }
    if (c === '\n') {
      lineStart = i + 1;
      continue;
    }
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = undefined;
      continue;
    }
    const prev = i === lineStart ? ' ' : text[i - 1];
    const tokenStart = prev === ' ' || prev === '\t' || prev === '[' || prev === '{' || prev === ',' || prev === ':';
    if ((c === '"' || c === "'") && tokenStart) quote = c;
    else if (c === '#' && (prev === ' ' || prev === '\t' || i === lineStart)) {
      const nl = text.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
    } else if (c === '[' || c === '{') {
      if (++depth > MAX_FLOW_DEPTH) return { at: i, message: `flow collections nested deeper than ${MAX_FLOW_DEPTH}` };
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

function freezeDeep<T>(v: T): T {
  if (v && typeof v === 'object') {
    for (const x of Object.values(v)) freezeDeep(x);
    Object.freeze(v);
  }
  return v;
}

/**
 * Parses a policy from its text (or exact bytes). `source` names it in error messages.
 * Throws PolicyValidationError (a PolicyError, code ERR_POLICY_INVALID) with `issues`.
 *
 * @example
 * const policy = parsePolicy('version: 1\nidentities:\n  - name: app\n    sgx: { mrSigner: "' + '00'.repeat(32) + '" }\n', { source: 'inline' });
 * policy.identities[0].name // 'app'
 */
export function parsePolicy(text: string | Uint8Array, opts: { source?: string } = {}): Policy {
  const source = opts.source ?? '<policy>';
  const at1 = (message: string): PolicyValidationError =>
    new PolicyValidationError([{ source, line: 1, column: 1, path: '', message }]);
  // Every UTF-16 unit is at least one UTF-8 byte: refuse a huge string before encoding it.
  const tooBig = () => at1(`policy exceeds the size limit of ${MAX_POLICY_BYTES} bytes`);
  if (typeof text === 'string' && text.length > MAX_POLICY_BYTES) throw tooBig();
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  if (bytes.length > MAX_POLICY_BYTES) {
    throw tooBig();
  }
  let str: string;
  try {
    str = typeof text === 'string' ? text : new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (e) {
    throw new PolicyValidationError([{ source, line: 1, column: 1, path: '', message: 'policy is not valid UTF-8' }], {
      cause: e,
    });
  }
  const hash = createHash('sha256').update(bytes).digest('hex');

  const lineCounter = new LineCounter();
  const nesting = nestingProblem(str);
  if (nesting) {
    const before = str.slice(0, nesting.at);
    const line = before.split('\n').length;
    const column = nesting.at - before.lastIndexOf('\n');
    throw new PolicyValidationError([{ source, line, column, path: '', message: nesting.message }]);
  }
  const doc = parseDocument(str, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const pos = (offset: number): { line: number; column: number } => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  if (doc.errors.length > 0) {
    throw new PolicyValidationError(
      doc.errors.map((e) => ({
        source,
        ...pos(e.pos[0]),
        path: '',
        message: `YAML syntax: ${e.message.split('\n')[0]}`,
      })),
    );
  }

  const locs = new Map<string, Loc>();
  const problems: { at: number; message: string; path: string }[] = [];
  const plain = toPlain(doc.contents, [], locs, problems);
  if (problems.length > 0) {
    throw new PolicyValidationError(problems.map((p) => ({ source, ...pos(p.at), path: p.path, message: p.message })));
  }
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    throw at1('expected a mapping with version and identities at the top level');
  }

  const parsed = policySchema.safeParse(plain, { reportInput: true });
  const structural = structuralIssues(plain);
  if (!parsed.success || structural.length > 0) {
    const issues: PolicyIssue[] = structural.map((s) => ({
      source,
      ...pos(locate(locs, s.path, true)),
      path: formatPath(s.path),
      message: s.message,
    }));
    for (const iss of parsed.error?.issues ?? []) {
      const path = iss.path.filter((k): k is PathKey => typeof k !== 'symbol');
      if (iss.code === 'unrecognized_keys') {
        const allowed = knownKeysAt(policySchema, path);
        for (const k of iss.keys) {
          const p = [...path, k];
          issues.push({
            source,
            ...pos(locate(locs, p, true)),
            path: formatPath(p),
            message: unknownKeyMessage(k, allowed),
          });
        }
        continue;
      }
      let message = iss.message.replace(/^Invalid input: /, '');
      if (iss.code === 'invalid_type' && 'input' in iss && iss.input === undefined)
        message = 'required field is missing';
      issues.push({ source, ...pos(locate(locs, path, false)), path: formatPath(path), message });
    }
    issues.sort((a, b) => a.line - b.line || a.column - b.column);
    throw new PolicyValidationError(issues);
  }

  if (!parsed.success) throw at1('policy failed validation');
  const p = parsed.data;
  const d = p.defaults ?? {};
  const defaults: PolicyDefaults = {
    tcbStatus: d.tcbStatus ?? ['UpToDate', 'SWHardeningNeeded'],
    advisories: { ...(d.advisories?.allow ? { allow: d.advisories.allow } : {}), deny: d.advisories?.deny ?? [] },
    debug: d.debug ?? false,
    simulated: d.simulated ?? false,
    ...(d.maxCertificateAge !== undefined ? { maxCertificateAge: d.maxCertificateAge } : {}),
    ...(d.freshness !== undefined ? { freshness: d.freshness } : {}),
    ...(d.minTcbDate !== undefined ? { minTcbDate: d.minTcbDate } : {}),
    ...(d.outOfDateGraceDays !== undefined ? { outOfDateGraceDays: d.outOfDateGraceDays } : {}),
    ...(d.outOfDateGraceAnchor !== undefined ? { outOfDateGraceAnchor: d.outOfDateGraceAnchor } : {}),
  };
  const identities: PolicyIdentity[] = p.identities.map((id) => {
    const effective: PolicyDefaults = {
      tcbStatus: id.tcbStatus ?? defaults.tcbStatus,
      advisories: id.advisories
        ? { ...(id.advisories.allow ? { allow: id.advisories.allow } : {}), deny: id.advisories.deny ?? [] }
        : defaults.advisories,
      debug: id.debug ?? defaults.debug,
      simulated: id.simulated ?? defaults.simulated,
    };
    const maxAge = id.maxCertificateAge ?? defaults.maxCertificateAge;
    if (maxAge !== undefined) effective.maxCertificateAge = maxAge;
    const fresh = id.freshness ?? defaults.freshness;
    if (fresh !== undefined) effective.freshness = fresh;
    const minTcbDate = id.minTcbDate ?? defaults.minTcbDate;
    if (minTcbDate !== undefined) effective.minTcbDate = minTcbDate;
    const grace = id.outOfDateGraceDays ?? defaults.outOfDateGraceDays;
    if (grace !== undefined) effective.outOfDateGraceDays = grace;
    const graceAnchor = id.outOfDateGraceAnchor ?? defaults.outOfDateGraceAnchor;
    if (graceAnchor !== undefined) effective.outOfDateGraceAnchor = graceAnchor;
    const kind = TEE_KEYS.find((k) => id[k] !== undefined);
    if (kind === 'sgx' && id.sgx) return { kind, sgx: id.sgx, name: id.name, effective };
    if (kind === 'tdx' && id.tdx) return { kind, tdx: id.tdx, name: id.name, effective };
    if (kind === 'snp' && id.snp) {
      // Version 2: a VM at a higher VMPL sits under a paravisor that can forge its view, so VMPL 0
      // is required unless the identity names another level (AMD SEV-SNP ABI, VMPL in the report).
      const snp = p.version === 2 && id.snp.vmpl === undefined ? { ...id.snp, vmpl: 0 } : id.snp;
      return { kind, snp, name: id.name, effective };
    }
    if (kind === 'nitro' && id.nitro) return { kind, nitro: id.nitro, name: id.name, effective };
    // The schema guarantees exactly one tee section; reaching here is a bug, so fail closed.
    throw at1(`identity '${id.name}' has no tee section`);
  });
  const names = new Set(identities.map((i) => i.name));
  const waiverIssues: PolicyIssue[] = [];
  const waivers: Waiver[] = (p.waivers ?? []).map((w, i) => {
    w.identities?.forEach((n, j) => {
      if (!names.has(n)) {
        const path = ['waivers', i, 'identities', j];
        waiverIssues.push({
          source,
          ...pos(locate(locs, path, false)),
          path: formatPath(path),
          message: `waiver names identity '${n}', which the policy does not define`,
        });
      }
    });
    return {
      name: w.name,
      ...(w.identities ? { identities: w.identities } : {}),
      tcbStatus: w.tcbStatus ?? [],
      advisories: w.advisories ?? [],
      until: w.until,
      reason: w.reason,
    };
  });
  if (waiverIssues.length > 0) throw new PolicyValidationError(waiverIssues);
  const warnings =
    p.version === 1
      ? [
          `${source}: policy version 1 is deprecated; version 2 requires SEV-SNP vmpl 0 unless an identity names a level`,
        ]
      : [];
  return freezeDeep({ version: p.version, defaults, identities, waivers, warnings, hash, source });
}

/**
 * Reads and parses a policy file (at most MAX_POLICY_BYTES). Errors name the path.
 * @example const policy = await loadPolicyFile('/etc/ratls/policy.yaml'); console.log(policy.hash)
 */
export async function loadPolicyFile(path: string): Promise<Policy> {
  let bytes: Uint8Array;
  try {
    const fh = await open(path, 'r');
    try {
      // Read one byte past the limit so an oversized file is detected without reading it all.
      const buf = Buffer.alloc(MAX_POLICY_BYTES + 1);
      let n = 0;
      while (n < buf.length) {
        const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
        if (bytesRead === 0) break;
        n += bytesRead;
      }
      bytes = new Uint8Array(buf.subarray(0, n));
    } finally {
      await fh.close();
    }
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new PolicyError('ERR_POLICY_READ', 'policy', `${path}: cannot read policy file: ${msg}`, { cause: e });
  }
  return parsePolicy(bytes, { source: path });
}
