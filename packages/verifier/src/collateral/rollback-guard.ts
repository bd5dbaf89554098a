/**
 * Anti-rollback for DCAP collateral. Intel raises `tcbEvaluationDataNumber` with every TCB
 * recovery (PCS API v4, TCB Info v3 §"tcbEvaluationDataNumber"): a lower number means older
 * collateral, which rates platforms better than today's. Whoever can write a shared cache (or
 * answer as PCCS) could otherwise restore it and turn OutOfDate platforms back into UpToDate
 * while both sets are inside their nextUpdate. The guard remembers, per (tee, FMSPC) for TCB
 * info and per (tee, QE id) for the QE identity, the highest number accepted, and refuses any
 * lower one. With a state file the memory survives restarts; it only ever grows, and a state
 * file edited downwards cannot lower what this process has seen.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CollateralError } from '@ratls/evidence';
import type { DcapCollateral } from './types.js';

const FORMAT = 'ratls-tcb-evaluation-numbers/1';
const MAX_STATE_BYTES = 1 << 20;
const MAX_KEYS = 16_384;

/** The numbers a collateral set carries, keyed as the guard keys them. */
export interface EvaluationNumbers {
  tcbKey: string;
  tcbInfo: number;
  qeKey: string;
  qeIdentity: number;
}

function num(json: string, what: string): number {
  let v: unknown;
  try {
    v = (JSON.parse(json) as Record<string, unknown>).tcbEvaluationDataNumber;
  } catch (e) {
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: not valid JSON`, { cause: e });
  }
  // TCB info v2 (SGX) has no tcbEvaluationDataNumber: treat as 0, so it can never displace v3.
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: bad tcbEvaluationDataNumber`);
  return v;
}

/**
 * Reads both evaluation numbers of a collateral set (without verifying it).
 * @example evaluationNumbers(c).tcbInfo // 17
 */
export function evaluationNumbers(c: DcapCollateral): EvaluationNumbers {
  let tcb: { id?: unknown; fmspc?: unknown };
  let qe: { id?: unknown };
  try {
    tcb = JSON.parse(c.tcbInfoJson) as typeof tcb;
    qe = JSON.parse(c.qeIdentityJson) as typeof qe;
  } catch (e) {
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', 'collateral JSON does not parse', { cause: e });
  }
  const tee = tcb.id === 'TDX' ? 'tdx' : 'sgx';
  return {
    tcbKey: `tcb-${tee}-${String(tcb.fmspc).toLowerCase()}`,
    tcbInfo: num(c.tcbInfoJson, 'tcbInfo'),
    qeKey: `qe-${String(qe.id)}`,
    qeIdentity: num(c.qeIdentityJson, 'enclaveIdentity'),
  };
}

/**
 * @example
 * const guard = new RollbackGuard('/var/lib/ratls/tcb-evaluation-numbers.json');
 * await guard.check(collateral); // throws ERR_COLLATERAL_ROLLBACK for older collateral
 * await guard.record(collateral);
 */
export class RollbackGuard {
  readonly #path: string | undefined;
  readonly #seen = new Map<string, number>();
  #loaded: Promise<void> | undefined;
  #refused = 0;
  #writing: Promise<void> = Promise.resolve();

  /** `path`: the state file (created 0600 in a 0700 directory). In memory only when absent. */
  constructor(path?: string) {
    this.#path = path;
  }

  /** Throws `ERR_COLLATERAL_ROLLBACK` when `c` is older than collateral already accepted. */
  async check(c: DcapCollateral): Promise<void> {
    await this.#load();
    const n = evaluationNumbers(c);
    for (const [key, value, what] of [
      [n.tcbKey, n.tcbInfo, 'TCB info'],
      [n.qeKey, n.qeIdentity, 'QE identity'],
    ] as const) {
      const seen = this.#seen.get(key) ?? -1;
      if (value < seen) {
        this.#refused++;
        throw new CollateralError(
          'ERR_COLLATERAL_ROLLBACK',
          'collateral',
          `${what} ${key} has tcbEvaluationDataNumber ${value}, lower than ${seen} already accepted: refusing older collateral`,
        );
      }
    }
  }

  /** Remembers `c`'s numbers when higher than those seen, and persists them. */
  async record(c: DcapCollateral): Promise<void> {
    await this.#load();
    const n = evaluationNumbers(c);
    let changed = false;
    for (const [key, value] of [
      [n.tcbKey, n.tcbInfo],
      [n.qeKey, n.qeIdentity],
    ] as const) {
      if (value > (this.#seen.get(key) ?? -1)) {
        if (!this.#seen.has(key) && this.#seen.size >= MAX_KEYS) continue;
        this.#seen.set(key, value);
        changed = true;
      }
    }
    if (changed) await this.#persist();
  }

  /** Highest numbers seen, and how many collateral sets were refused as older. */
  status(): { seen: Record<string, number>; refused: number } {
    return { seen: Object.fromEntries(this.#seen), refused: this.#refused };
  }

  #load(): Promise<void> {
    this.#loaded ??= this.#readFile();
    return this.#loaded;
  }

  async #readFile(): Promise<void> {
    if (!this.#path) return;
    let text: string;
    try {
      const st = await stat(this.#path);
      if (!st.isFile() || st.size > MAX_STATE_BYTES) throw new Error('not a bounded file');
      text = await readFile(this.#path, 'utf8');
    } catch (e) {
      if ((e as { code?: unknown }).code === 'ENOENT') return;
      // Fail closed: a state file we cannot read could hide a rollback.
      throw new CollateralError('ERR_COLLATERAL_FILE', 'collateral', `anti-rollback state ${this.#path}: unreadable`, {
        cause: e,
      });
    }
    let o: unknown;
    try {
      o = JSON.parse(text);
    } catch (e) {
      throw new CollateralError('ERR_COLLATERAL_FILE', 'collateral', `anti-rollback state ${this.#path}: not JSON`, {
        cause: e,
      });
    }
    const r = o as { format?: unknown; seen?: unknown };
    if (r?.format !== FORMAT || typeof r.seen !== 'object' || r.seen === null)
      throw new CollateralError('ERR_COLLATERAL_FILE', 'collateral', `anti-rollback state ${this.#path}: bad format`);
    for (const [k, v] of Object.entries(r.seen as Record<string, unknown>)) {
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v > (this.#seen.get(k) ?? -1)) {
        if (this.#seen.size < MAX_KEYS) this.#seen.set(k, v);
      }
    }
  }

  /** Serialized atomic writes (temp file, 0600, rename): concurrent records never interleave. */
  #persist(): Promise<void> {
    const path = this.#path;
    if (!path) return Promise.resolve();
    const run = async () => {
      const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await writeFile(tmp, JSON.stringify({ format: FORMAT, seen: Object.fromEntries(this.#seen) }), {
          mode: 0o600,
          flag: 'wx',
        });
        await rename(tmp, path);
      } catch {
        // The in-memory floor still holds for this process; a later record retries the write.
        await unlink(tmp).catch(() => {});
      }
    };
    this.#writing = this.#writing.then(run);
    return this.#writing;
  }
}
