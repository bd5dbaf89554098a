/**
 * Collateral through the cluster primary (docs/gateway.md, "Process model"). Each worker's
 * collateral source is an IPC client; the primary holds the one real source (PCCS with its
 * coalescing, disk cache and back-off), so N workers starting cold make one upstream request per
 * key. Only raw collateral crosses the process boundary (strings, bytes as base64), never a
 * verification result: the worker verifies signatures, chains, CRLs and dates itself, as always.
 */
import { Buffer } from 'node:buffer';
import { CollateralError, ERROR_CODES, isErrorCode, RatlsError } from '@ratls/evidence';
import type { CollateralRequest, CollateralSource, DcapCollateral } from '@ratls/verifier';

/** Worker → primary: fetch collateral for one request key. */
export interface CollateralAsk {
  t: 'collateral';
  id: number;
  req: CollateralRequest;
}
/** Primary → worker: raw collateral (bytes as base64), or the typed error the source threw. */
export type CollateralAnswer =
  | { t: 'collateral'; id: number; ok: true; collateral: DcapCollateralWire }
  | { t: 'collateral'; id: number; ok: false; code: string; message: string };

/** `DcapCollateral` with every byte field as base64: what structured cloning of IPC carries as-is. */
export type DcapCollateralWire = { [K in keyof DcapCollateral]: string };

const TEXT_FIELDS = [
  'pckCrlIssuerChainPem',
  'tcbInfoIssuerChainPem',
  'tcbInfoJson',
  'qeIdentityIssuerChainPem',
  'qeIdentityJson',
] as const;
const BYTE_FIELDS = ['rootCaCrl', 'pckCrl', 'tcbInfoSignature', 'qeIdentitySignature'] as const;
/** Far above real collateral (a few tens of KiB), so a hostile or broken answer is bounded. */
const MAX_FIELD_CHARS = 4 << 20;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const malformed = (why: string) =>
  new CollateralError('ERR_COLLATERAL_IPC', 'collateral', `collateral answer from the primary: ${why}`);

/**
 * Encodes collateral for IPC.
 * @example w.send({ t: 'collateral', id, ok: true, collateral: collateralToWire(c) })
 */
export function collateralToWire(c: DcapCollateral): DcapCollateralWire {
  const out = {} as DcapCollateralWire;
  for (const k of TEXT_FIELDS) out[k] = c[k];
  for (const k of BYTE_FIELDS) out[k] = Buffer.from(c[k]).toString('base64');
  return out;
}

/**
 * Decodes collateral received over IPC; anything not of the expected shape is `ERR_COLLATERAL_IPC`.
 * @example const c = collateralFromWire(answer.collateral)
 */
export function collateralFromWire(w: unknown): DcapCollateral {
  if (typeof w !== 'object' || w === null) throw malformed('collateral is not an object');
  const o = w as Record<string, unknown>;
  const out = {} as Record<string, string | Uint8Array>;
  for (const k of [...TEXT_FIELDS, ...BYTE_FIELDS]) {
    const v = o[k];
    if (typeof v !== 'string' || v.length > MAX_FIELD_CHARS) throw malformed(`${k} is not a bounded string`);
    if ((BYTE_FIELDS as readonly string[]).includes(k)) {
      if (v.length % 4 !== 0 || !BASE64.test(v)) throw malformed(`${k} is not base64`);
      out[k] = new Uint8Array(Buffer.from(v, 'base64'));
    } else out[k] = v;
  }
  return out as unknown as DcapCollateral;
}

/** A request as the primary accepts it from a worker: the same fields a verifier sends. */
function requestFrom(x: unknown): CollateralRequest | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const { tee, fmspc, pckCa } = x as Record<string, unknown>;
  if ((tee !== 'sgx' && tee !== 'tdx') || (pckCa !== 'processor' && pckCa !== 'platform')) return undefined;
  if (typeof fmspc !== 'string' || !/^[0-9a-fA-F]{12}$/.test(fmspc)) return undefined;
  return { tee, fmspc, pckCa };
}

/**
 * The primary's side: answers one worker request from the one real source. Never throws; the
 * source bounds its own waits (PCCS timeout).
 * @example w.send(await answerCollateral(state.collateral, m))
 */
export async function answerCollateral(source: CollateralSource, m: CollateralAsk): Promise<CollateralAnswer> {
  const req = requestFrom(m.req);
  if (!req) return { t: 'collateral', id: m.id, ok: false, code: 'ERR_COLLATERAL_REQUEST', message: 'bad request' };
  try {
    return { t: 'collateral', id: m.id, ok: true, collateral: collateralToWire(await source.getCollateral(req)) };
  } catch (e) {
    const r = e instanceof RatlsError ? e : undefined;
    return {
      t: 'collateral',
      id: m.id,
      ok: false,
      code: r?.code ?? 'ERR_COLLATERAL_IPC',
      message: r?.message ?? `collateral source failed: ${String(e)}`,
    };
  }
}

export interface IpcCollateralSourceOptions {
  /** Sends one message to the primary (in a worker: `process.send`). */
  send: (m: CollateralAsk) => void;
  /** How long one request may wait for the primary's answer. */
  timeoutMs: number;
}

/**
 * A worker's collateral source: asks the primary, which fetches once for all workers. Feed every
 * message from the primary to `receive`. A late, unknown or malformed answer never crashes.
 * @example
 * const src = new IpcCollateralSource({ send: (m) => process.send?.(m), timeoutMs: 25_000 });
 * process.on('message', (m) => src.receive(m));
 */
export class IpcCollateralSource implements CollateralSource {
  readonly #send: (m: CollateralAsk) => void;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, (a: unknown) => void>();
  #nextId = 1;

  constructor(o: IpcCollateralSourceOptions) {
    this.#send = o.send;
    this.#timeoutMs = o.timeoutMs;
  }

  getCollateral(req: CollateralRequest, opts?: { signal?: AbortSignal }): Promise<DcapCollateral> {
    const id = this.#nextId++;
    return new Promise<DcapCollateral>((resolve, reject) => {
      const signal = opts?.signal;
      const done = () => {
        clearTimeout(t);
        this.#pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(new CollateralError('ERR_COLLATERAL_ABORTED', 'collateral', 'collateral request aborted by caller'));
      };
      // The same code a PCCS that does not answer in time gives: to the verifier it is one source.
      const t = setTimeout(() => {
        done();
        reject(
          new CollateralError(
            'ERR_COLLATERAL_TIMEOUT',
            'collateral',
            `collateral: no answer from the cluster primary within ${this.#timeoutMs} ms`,
          ),
        );
      }, this.#timeoutMs);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, (a) => {
        done();
        try {
          resolve(IpcCollateralSource.#decode(a));
        } catch (e) {
          reject(e);
        }
      });
      try {
        this.#send({ t: 'collateral', id, req: { tee: req.tee, fmspc: req.fmspc, pckCa: req.pckCa } });
      } catch (e) {
        done();
        reject(new CollateralError('ERR_COLLATERAL_IPC', 'collateral', `cannot ask the primary: ${String(e)}`));
      }
    });
  }

  /**
   * Takes one message from the primary; returns whether it was a collateral answer.
   * @example process.on('message', (m) => { if (!src.receive(m)) handleOther(m) })
   */
  receive(m: unknown): boolean {
    if (typeof m !== 'object' || m === null || (m as { t?: unknown }).t !== 'collateral') return false;
    const id = (m as { id?: unknown }).id;
    if (typeof id === 'number') this.#pending.get(id)?.(m);
    return true;
  }

  static #decode(a: unknown): DcapCollateral {
    const m = a as Record<string, unknown>;
    if (m.ok === true) return collateralFromWire(m.collateral);
    if (m.ok !== false || typeof m.code !== 'string' || typeof m.message !== 'string') {
      throw malformed('neither collateral nor an error');
    }
    // Only a registered code of the collateral step is passed on as such; anything else (a policy
    // or appraisal result above all) is the primary misbehaving.
    const code = m.code;
    if (!isErrorCode(code) || ERROR_CODES[code].step !== 'collateral') throw malformed(`unexpected code ${code}`);
    throw new CollateralError(code, 'collateral', m.message.slice(0, 4096));
  }
}
