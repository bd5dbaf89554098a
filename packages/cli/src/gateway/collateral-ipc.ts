/**
 * Collateral through the cluster primary (docs/gateway.md, "Process model"). Each worker's
 * collateral source is an IPC client; the primary holds the one real source (PCCS with its
 * coalescing, disk cache and back-off), so N workers starting cold make one upstream request per
 * key. Only raw collateral crosses the process boundary (strings, bytes as base64), never a
 * verification result: the worker verifies signatures, chains, CRLs and dates itself, as always.
 * AMD KDS collateral (SEV-SNP VCEKs, cert chains, CRLs) goes the same way (`IpcKdsSource`,
 * `KdsAnswerer`): the primary's one KDS client and its cache answer every worker, and identical
 * requests in flight are fetched once, because KDS rate-limits.
 */
import { Buffer } from 'node:buffer';
import { CollateralError, ERROR_CODES, isErrorCode, RatlsError, type SnpProduct, type SnpTcb } from '@ratls/evidence';
import type {
  CollateralRequest,
  CollateralSource,
  DcapCollateral,
  SnpCollateralSource,
  SnpVcekRequest,
} from '@ratls/verifier';

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
export type DcapCollateralWire = { [K in Exclude<keyof DcapCollateral, 'tcbEvaluationDataNumbers'>]: string } & {
  /** Intel's signed TCB evaluation data numbers, when the primary holds them (the grace anchor). */
  tcbEvaluationDataNumbers?: { body: string; issuerChainPem: string };
};

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
 * The error half of an answer from the primary. Only a registered code of the collateral step is
 * passed on as such; anything else (a policy or appraisal result above all) is the primary misbehaving.
 */
function relayedError(m: Record<string, unknown>, what: string): CollateralError {
  if (m.ok !== false || typeof m.code !== 'string' || typeof m.message !== 'string') {
    return malformed(`neither ${what} nor an error`);
  }
  const code = m.code;
  if (!isErrorCode(code) || ERROR_CODES[code].step !== 'collateral') return malformed(`unexpected code ${code}`);
  return new CollateralError(code, 'collateral', m.message.slice(0, 4096));
}

/**
 * A worker's requests to the cluster primary of one message kind (`t`): numbered, each answered
 * once, bounded by `timeoutMs` (the same code a source that does not answer in time gives) and by
 * the caller's signal. Late, unknown and malformed answers are dropped, never a crash.
 */
class PrimaryRequests {
  readonly #pending = new Map<number, (a: unknown) => void>();
  #nextId = 1;

  constructor(
    readonly kind: string,
    readonly label: string,
    readonly timeoutMs: number,
  ) {}

  ask<T>(send: (id: number) => void, decode: (a: unknown) => T, signal: AbortSignal | undefined): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(t);
        this.#pending.delete(id);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        done();
        reject(new CollateralError('ERR_COLLATERAL_ABORTED', 'collateral', `${this.label} request aborted by caller`));
      };
      const t = setTimeout(() => {
        done();
        reject(
          new CollateralError(
            'ERR_COLLATERAL_TIMEOUT',
            'collateral',
            `${this.label}: no answer from the cluster primary within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pending.set(id, (a) => {
        done();
        try {
          resolve(decode(a));
        } catch (e) {
          reject(e);
        }
      });
      try {
        send(id);
      } catch (e) {
        done();
        reject(new CollateralError('ERR_COLLATERAL_IPC', 'collateral', `cannot ask the primary: ${String(e)}`));
      }
    });
  }

  /** Routes one message from the primary; returns whether it was of this kind. */
  receive(m: unknown): boolean {
    if (typeof m !== 'object' || m === null || (m as { t?: unknown }).t !== this.kind) return false;
    const id = (m as { id?: unknown }).id;
    if (typeof id === 'number') this.#pending.get(id)?.(m);
    return true;
  }
}

/**
 * Encodes collateral for IPC.
 * @example w.send({ t: 'collateral', id, ok: true, collateral: collateralToWire(c) })
 */
export function collateralToWire(c: DcapCollateral): DcapCollateralWire {
  const out = {} as DcapCollateralWire;
  for (const k of TEXT_FIELDS) out[k] = c[k];
  for (const k of BYTE_FIELDS) out[k] = Buffer.from(c[k]).toString('base64');
  if (c.tcbEvaluationDataNumbers) out.tcbEvaluationDataNumbers = { ...c.tcbEvaluationDataNumbers };
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
  const evals = o.tcbEvaluationDataNumbers;
  if (evals === undefined) return out as unknown as DcapCollateral;
  // Carried as received; verified with the rest of the collateral (a bad one only loses the anchor).
  const e = evals as Record<string, unknown> | null;
  if (
    typeof e !== 'object' ||
    e === null ||
    typeof e.body !== 'string' ||
    typeof e.issuerChainPem !== 'string' ||
    e.body.length > MAX_FIELD_CHARS ||
    e.issuerChainPem.length > MAX_FIELD_CHARS
  )
    throw malformed('tcbEvaluationDataNumbers is not { body, issuerChainPem } of bounded strings');
  return {
    ...(out as unknown as DcapCollateral),
    tcbEvaluationDataNumbers: { body: e.body, issuerChainPem: e.issuerChainPem },
  };
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
  readonly #requests: PrimaryRequests;

  constructor(o: IpcCollateralSourceOptions) {
    this.#send = o.send;
    this.#requests = new PrimaryRequests('collateral', 'collateral', o.timeoutMs);
  }

  getCollateral(req: CollateralRequest, opts?: { signal?: AbortSignal }): Promise<DcapCollateral> {
    return this.#requests.ask(
      (id) => this.#send({ t: 'collateral', id, req: { tee: req.tee, fmspc: req.fmspc, pckCa: req.pckCa } }),
      (a) => IpcCollateralSource.#decode(a),
      opts?.signal,
    );
  }

  /**
   * Takes one message from the primary; returns whether it was a collateral answer.
   * @example process.on('message', (m) => { if (!src.receive(m)) handleOther(m) })
   */
  receive(m: unknown): boolean {
    return this.#requests.receive(m);
  }

  static #decode(a: unknown): DcapCollateral {
    const m = a as Record<string, unknown>;
    if (m.ok === true) return collateralFromWire(m.collateral);
    throw relayedError(m, 'collateral');
  }
}

// --- AMD KDS (SEV-SNP) ---

const SNP_PRODUCT_NAMES: readonly SnpProduct[] = ['Milan', 'Genoa', 'Turin'];
/** A VCEK (DER), chain (PEM) or CRL (DER) is a few KiB; KDS answers are bounded at 64 KiB. */
const MAX_KDS_CHARS = 128 * 1024;

/** The TCB SPLs a VCEK URL names (KDS spec #57230 §4). */
export interface KdsTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
}
/** What one KDS request asks for (the chip id as hex: IPC carries JSON). */
export type KdsAskBody =
  | { op: 'vcek'; product: SnpProduct; chipId: string; tcb: KdsTcb }
  | { op: 'chain' | 'crl'; product: SnpProduct; kind: 'vcek' | 'vlek' };
/** Worker → primary: one KDS request. */
export type KdsAsk = { t: 'kds'; id: number } & KdsAskBody;
/** Primary → worker: the body (DER as base64, a chain as PEM text), or the typed error. */
export type KdsAnswer =
  | { t: 'kds'; id: number; ok: true; body: string }
  | { t: 'kds'; id: number; ok: false; code: string; message: string };

const isProduct = (x: unknown): x is SnpProduct => SNP_PRODUCT_NAMES.includes(x as SnpProduct);
const isSpl = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 255;

/** A KDS request as the primary accepts it from a worker, or undefined. */
function kdsRequestFrom(x: unknown): KdsAskBody | undefined {
  if (typeof x !== 'object' || x === null) return undefined;
  const m = x as Record<string, unknown>;
  if (!isProduct(m.product)) return undefined;
  if (m.op === 'chain' || m.op === 'crl') {
    return m.kind === 'vcek' || m.kind === 'vlek' ? { op: m.op, product: m.product, kind: m.kind } : undefined;
  }
  if (m.op !== 'vcek' || typeof m.chipId !== 'string' || !/^[0-9a-f]{128}$/.test(m.chipId)) return undefined;
  const t = m.tcb as Record<string, unknown> | null;
  if (typeof t !== 'object' || t === null) return undefined;
  if (![t.bootloader, t.tee, t.snp, t.microcode].every(isSpl) || (t.fmc !== undefined && !isSpl(t.fmc))) {
    return undefined;
  }
  const tcb: KdsTcb = {
    bootloader: t.bootloader as number,
    tee: t.tee as number,
    snp: t.snp as number,
    microcode: t.microcode as number,
    ...(t.fmc !== undefined ? { fmc: t.fmc as number } : {}),
  };
  return { op: 'vcek', product: m.product, chipId: m.chipId, tcb };
}

/**
 * The primary's side of KDS over IPC: one source for every worker, and one upstream fetch for
 * identical requests in flight at once (N workers starting cold ask for the same chain and VCEK).
 * @example
 * const kds = new KdsAnswerer(() => new KdsCollateralSource(url));
 * worker.on('message', (m) => { if (m.t === 'kds') void kds.answer(m).then((a) => worker.send(a)) });
 */
export class KdsAnswerer {
  readonly #source: () => SnpCollateralSource | undefined;
  readonly #inFlight = new Map<string, Promise<string>>();

  /** `source` is read per request: the source in force (a reload may change the KDS URL). */
  constructor(source: () => SnpCollateralSource | undefined) {
    this.#source = source;
  }

  /** Answers one worker request. Never throws; the source bounds its own waits. */
  async answer(m: KdsAsk): Promise<KdsAnswer> {
    const req = kdsRequestFrom(m);
    const fail = (code: string, message: string): KdsAnswer => ({ t: 'kds', id: m.id, ok: false, code, message });
    if (!req) return fail('ERR_COLLATERAL_REQUEST', 'bad KDS request');
    const src = this.#source();
    if (!src) return fail('ERR_COLLATERAL_REQUEST', 'no AMD KDS is configured (trust.snp.kds)');
    const key = JSON.stringify(req);
    let p = this.#inFlight.get(key);
    if (!p) {
      p = KdsAnswerer.#fetch(src, req).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, p);
    }
    try {
      return { t: 'kds', id: m.id, ok: true, body: await p };
    } catch (e) {
      const r = e instanceof RatlsError ? e : undefined;
      return fail(r?.code ?? 'ERR_COLLATERAL_IPC', r?.message ?? `KDS source failed: ${String(e)}`);
    }
  }

  static async #fetch(src: SnpCollateralSource, req: KdsAskBody): Promise<string> {
    if (req.op !== 'vcek') {
      if (req.op === 'chain') return src.getCertChain(req.product, req.kind);
      if (!src.getCrl)
        throw new CollateralError('ERR_COLLATERAL_REQUEST', 'collateral', 'the KDS source serves no CRLs');
      return Buffer.from(await src.getCrl(req.product, req.kind)).toString('base64');
    }
    // A KDS request names the SPLs only (its URL); the raw TCB bytes are not part of it.
    const tcb: SnpTcb = { ...req.tcb, raw: new Uint8Array(8) };
    const vcek = await src.getVcek({
      product: req.product,
      chipId: new Uint8Array(Buffer.from(req.chipId, 'hex')),
      tcb,
    });
    return Buffer.from(vcek).toString('base64');
  }
}

/**
 * A worker's AMD KDS source: asks the primary (`KdsAnswerer`), which fetches once for all
 * workers. Feed every message from the primary to `receive`; a late, unknown or malformed answer
 * never crashes. The same bounds and codes as `IpcCollateralSource`.
 * @example
 * const kds = new IpcKdsSource({ send: (m) => process.send?.(m), timeoutMs: 25_000 });
 * process.on('message', (m) => kds.receive(m));
 */
export class IpcKdsSource implements SnpCollateralSource {
  readonly #send: (m: KdsAsk) => void;
  readonly #requests: PrimaryRequests;

  constructor(o: { send: (m: KdsAsk) => void; timeoutMs: number }) {
    this.#send = o.send;
    this.#requests = new PrimaryRequests('kds', 'AMD KDS', o.timeoutMs);
  }

  async getVcek(req: SnpVcekRequest, opts?: { signal?: AbortSignal }): Promise<Uint8Array> {
    const t = req.tcb;
    const tcb = {
      bootloader: t.bootloader,
      tee: t.tee,
      snp: t.snp,
      microcode: t.microcode,
      ...(t.fmc !== undefined ? { fmc: t.fmc } : {}),
    };
    const chipId = Buffer.from(req.chipId).toString('hex');
    return IpcKdsSource.#bytes(await this.#ask({ op: 'vcek', product: req.product, chipId, tcb }, opts?.signal));
  }

  async getCertChain(product: SnpProduct, kind: 'vcek' | 'vlek', opts?: { signal?: AbortSignal }): Promise<string> {
    return this.#ask({ op: 'chain', product, kind }, opts?.signal);
  }

  async getCrl(product: SnpProduct, kind: 'vcek' | 'vlek', opts?: { signal?: AbortSignal }): Promise<Uint8Array> {
    return IpcKdsSource.#bytes(await this.#ask({ op: 'crl', product, kind }, opts?.signal));
  }

  /**
   * Takes one message from the primary; returns whether it was a KDS answer.
   * @example process.on('message', (m) => { if (!kds.receive(m)) handleOther(m) })
   */
  receive(m: unknown): boolean {
    return this.#requests.receive(m);
  }

  #ask(body: KdsAskBody, signal: AbortSignal | undefined): Promise<string> {
    return this.#requests.ask(
      (id) => this.#send({ t: 'kds', id, ...body } as KdsAsk),
      (a) => IpcKdsSource.#decode(a),
      signal,
    );
  }

  static #decode(a: unknown): string {
    const m = a as Record<string, unknown>;
    if (m.ok === true) {
      if (typeof m.body !== 'string' || m.body.length === 0 || m.body.length > MAX_KDS_CHARS) {
        throw malformed('KDS body is not a bounded string');
      }
      return m.body;
    }
    throw relayedError(m, 'a KDS body');
  }

  static #bytes(b64: string): Uint8Array {
    if (b64.length % 4 !== 0 || !BASE64.test(b64)) throw malformed('KDS body is not base64');
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
}
