/**
 * SimulatedQuoteProvider: a QuoteProvider that produces DCAP quotes as Intel's quoting enclaves
 * do, from the simulated hierarchy: a QE report (report data = SHA-256(attestation key ‖ QE auth
 * data) ‖ 0³²) signed by the PCK key, and the quote (SGX v3, TDX v4 or v5) signed by the
 * attestation key. Nothing here is secure: the keys sit in a folder. It exists so the real
 * verifier code path can run without TEE hardware.
 */
import { createHash } from 'node:crypto';
import type { Evidence, QuoteProvider } from '@ratls/attester';
import {
  ConfigError,
  concatBytes,
  encodeQuote,
  encodeSgxReportBody,
  encodeTdReportBody,
  fromHex,
  ProviderError,
  RatlsError,
  SGX_FLAGS_DEBUG,
  TD_ATTRIBUTES_DEBUG_BIT,
} from '@ratls/evidence';
import {
  DEFAULT_MR_ENCLAVE,
  DEFAULT_MR_SIGNER,
  DEFAULT_MR_TD,
  isTcbStatus,
  SIM_MR_SEAM,
  SIM_QE,
  SIM_QE_ATTRIBUTES,
  SIM_QE_ISVSVN,
  TCB_STATUSES,
  type TcbStatus,
  TDX_MODULE_MAJOR,
  tcbLevelFor,
} from './constants.js';
import { newKey, type SimKey, signRaw } from './keys.js';
import { simulatedPckLeaf } from './pck-leaf.js';
import type { SimState } from './state.js';

export interface SimulatedQuoteOptions {
  tee: 'sgx' | 'tdx';
  /** SGX: MRENCLAVE / MRSIGNER (32-byte hex), ISVPRODID, ISVSVN. */
  mrEnclave?: string;
  mrSigner?: string;
  isvProdId?: number;
  isvSvn?: number;
  /** SGX ATTRIBUTES.DEBUG / TDX TD_ATTRIBUTES.DEBUG. */
  debug?: boolean;
  /** Platform TCB status the quote must appraise to (default UpToDate). */
  tcb?: string;
  /** TDX: MR_TD (48-byte hex), RTMR0-3 (48-byte hex each, missing ones zero). */
  mrTd?: string;
  rtmr?: readonly (string | undefined)[];
  /** TDX quote version: 4 (TD 1.0 body, default) or 5 (TD 1.5 body). */
  quoteVersion?: 4 | 5;
}

/** TD_ATTRIBUTES bit 28, SEPT_VE_DISABLE (set by default, as on production TDs). */
const TD_ATTR_SEPT_VE_DISABLE_BYTE3 = 0x10;
/** XFRM/XFAM the simulated platform reports (x87, SSE, AVX, AVX-512 state). */
const XFRM = 0xe7;
/** QE authentication data: 32 bytes 0x00..0x1f, as Intel's QE emits by default. */
const QE_AUTH_DATA = new Uint8Array(Array.from({ length: 32 }, (_, i) => i));

function hexOpt(v: string | undefined, n: number, what: string, dflt: Uint8Array): Uint8Array {
  if (v === undefined) return dflt;
  let b: Uint8Array;
  try {
    b = fromHex(v, what);
  } catch {
    throw new ConfigError('ERR_SIM_CONFIG', 'sim', `SimulatedQuoteProvider: ${what} is not hex`);
  }
  if (b.length !== n)
    throw new ConfigError(
      'ERR_SIM_CONFIG',
      'sim',
      `SimulatedQuoteProvider: ${what} must be ${n} bytes, got ${b.length}`,
    );
  return b;
}

function u16Opt(v: number | undefined, what: string): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0 || v > 0xffff)
    throw new ConfigError(
      'ERR_SIM_CONFIG',
      'sim',
      `SimulatedQuoteProvider: ${what} ${v} is not an integer in 0..65535`,
    );
  return v;
}

interface QuotingEnclave {
  ak: SimKey;
  qeReport: Uint8Array;
  qeReportSignature: Uint8Array;
}
const QUOTING_ENCLAVES = new WeakMap<SimState, Map<string, Promise<QuotingEnclave>>>();
const ATTESTATION_KEYS = new WeakMap<SimState, Map<string, Promise<SimKey>>>();

function sharedAttestationKey(state: SimState, tee: string): Promise<SimKey> {
  let m = ATTESTATION_KEYS.get(state);
  if (!m) {
    m = new Map();
    ATTESTATION_KEYS.set(state, m);
  }
  let k = m.get(tee);
  if (!k) {
    k = newKey();
    m.set(tee, k);
  }
  return k;
}

/**
 * @example
 * const sim = await loadSimulation('/tmp/sim');
 * const p = new SimulatedQuoteProvider(sim, { tee: 'tdx', tcb: 'SWHardeningNeeded', quoteVersion: 5 });
 * const { evidence } = await p.getEvidence(reportData);
 */
export class SimulatedQuoteProvider implements QuoteProvider {
  readonly name: string;
  readonly tee: 'sgx' | 'tdx';
  readonly tcb: TcbStatus;
  private readonly body: (reportData: Uint8Array) => Uint8Array;
  private readonly version: 3 | 4 | 5;
  private attestationKey: Promise<SimKey> | undefined;

  constructor(
    private readonly state: SimState,
    opts: SimulatedQuoteOptions,
  ) {
    if (opts.tee !== 'sgx' && opts.tee !== 'tdx')
      throw new ConfigError('ERR_SIM_CONFIG', 'sim', `SimulatedQuoteProvider: tee must be 'sgx' or 'tdx'`);
    const tcb = opts.tcb ?? 'UpToDate';
    if (!isTcbStatus(tcb))
      throw new ConfigError(
        'ERR_SIM_CONFIG',
        'sim',
        `SimulatedQuoteProvider: tcb "${tcb}" is not one of ${TCB_STATUSES.join(', ')}`,
      );
    this.tee = opts.tee;
    this.tcb = tcb;
    this.name = `simulated-${opts.tee}`;
    const level = tcbLevelFor(tcb);
    if (opts.tee === 'sgx') {
      if (opts.quoteVersion !== undefined)
        throw new ConfigError(
          'ERR_SIM_CONFIG',
          'sim',
          'SimulatedQuoteProvider: quoteVersion applies to TDX only (SGX quotes are v3)',
        );
      if (opts.mrTd !== undefined || opts.rtmr !== undefined)
        throw new ConfigError('ERR_SIM_CONFIG', 'sim', 'SimulatedQuoteProvider: mrTd/rtmr apply to TDX only');
      this.version = 3;
      const attributes = new Uint8Array(16);
      attributes[0] = 0x05 | (opts.debug ? Number(SGX_FLAGS_DEBUG) : 0); // INIT | MODE64BIT, DEBUG (SDM Vol. 3D §38.7.1)
      attributes[8] = XFRM;
      const fields = {
        cpuSvn: new Uint8Array(level.sgxComponents),
        attributes,
        mrEnclave: hexOpt(opts.mrEnclave, 32, 'mrEnclave', DEFAULT_MR_ENCLAVE),
        mrSigner: hexOpt(opts.mrSigner, 32, 'mrSigner', DEFAULT_MR_SIGNER),
        isvProdId: u16Opt(opts.isvProdId, 'isvProdId'),
        isvSvn: u16Opt(opts.isvSvn, 'isvSvn'),
      };
      this.body = (reportData) => encodeSgxReportBody({ ...fields, reportData });
    } else {
      if (opts.mrEnclave !== undefined || opts.mrSigner !== undefined)
        throw new ConfigError('ERR_SIM_CONFIG', 'sim', 'SimulatedQuoteProvider: mrEnclave/mrSigner apply to SGX only');
      if (opts.isvProdId !== undefined || opts.isvSvn !== undefined)
        throw new ConfigError('ERR_SIM_CONFIG', 'sim', 'SimulatedQuoteProvider: isvProdId/isvSvn apply to SGX only');
      const v = opts.quoteVersion ?? 4;
      if (v !== 4 && v !== 5)
        throw new ConfigError(
          'ERR_SIM_CONFIG',
          'sim',
          `SimulatedQuoteProvider: quoteVersion ${String(v)} is not 4 or 5`,
        );
      this.version = v;
      if ((opts.rtmr?.length ?? 0) > 4)
        throw new ConfigError('ERR_SIM_CONFIG', 'sim', 'SimulatedQuoteProvider: at most 4 RTMRs');
      const rtmr = [0, 1, 2, 3].map((i) => hexOpt(opts.rtmr?.[i], 48, `rtmr${i}`, new Uint8Array(48)));
      // TEE_TCB_SVN: [0] module SVN, [1] module major version (selects TDX_01), [2..] as the level.
      const teeTcbSvn = new Uint8Array(level.tdxComponents);
      teeTcbSvn[1] = TDX_MODULE_MAJOR;
      const tdAttributes = new Uint8Array(8);
      tdAttributes[0] = opts.debug ? TD_ATTRIBUTES_DEBUG_BIT : 0;
      tdAttributes[3] = TD_ATTR_SEPT_VE_DISABLE_BYTE3;
      const xfam = new Uint8Array(8);
      xfam[0] = XFRM;
      xfam[1] = 0x18;
      xfam[2] = 0x06;
      const fields = {
        teeTcbSvn,
        mrSeam: SIM_MR_SEAM,
        tdAttributes,
        xfam,
        mrTd: hexOpt(opts.mrTd, 48, 'mrTd', DEFAULT_MR_TD),
        rtmr,
        ...(v === 5 ? { kind: 'td15' as const, teeTcbSvn2: teeTcbSvn, mrServiceTd: new Uint8Array(48) } : {}),
      };
      this.body = (reportData) => encodeTdReportBody({ ...fields, reportData });
    }
  }

  /**
   * The simulated QE of this platform: like a real QE, one attestation key and one PCK-signed QE
   * report per platform TCB, shared by every enclave on it (so verifiers' QE-report caches see
   * what they would see in production, not a fresh ECDSA signature per quote).
   */
  private quotingEnclave(pck: Awaited<ReturnType<typeof simulatedPckLeaf>>): Promise<QuotingEnclave> {
    let perState = QUOTING_ENCLAVES.get(this.state);
    if (!perState) {
      perState = new Map();
      QUOTING_ENCLAVES.set(this.state, perState);
    }
    const key = `${this.tee}:${pck.certPem}`;
    let qe = perState.get(key);
    if (!qe) {
      qe = (async () => {
        this.attestationKey ??= sharedAttestationKey(this.state, this.tee);
        const ak = await this.attestationKey;
        const ids = SIM_QE[this.tee];
        const qeAttributes = fromHex(SIM_QE_ATTRIBUTES);
        qeAttributes[8] = XFRM;
        const qeReport = encodeSgxReportBody({
          cpuSvn: pck.cpuSvn,
          attributes: qeAttributes,
          mrEnclave: ids.mrEnclave,
          mrSigner: ids.mrSigner,
          isvProdId: ids.isvProdId,
          isvSvn: SIM_QE_ISVSVN,
          reportData: concatBytes(
            createHash('sha256').update(ak.raw).update(QE_AUTH_DATA).digest(),
            new Uint8Array(32),
          ),
        });
        return { ak, qeReport, qeReportSignature: signRaw(pck.key, qeReport) };
      })();
      qe.catch(() => perState?.delete(key));
      perState.set(key, qe);
    }
    return qe;
  }

  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    if (!(reportData instanceof Uint8Array) || reportData.length !== 64) {
      throw new ProviderError('ERR_SIM_REPORT_DATA', 'sim', 'simulated quote: report data must be exactly 64 bytes');
    }
    try {
      const pck = await simulatedPckLeaf(this.state, this.tee, this.tcb);
      const { ak, qeReport, qeReportSignature } = await this.quotingEnclave(pck);
      const quote = encodeQuote({
        version: this.version,
        tee: this.tee,
        header:
          this.version === 3
            ? {
                qeSvn: SIM_QE_ISVSVN,
                pceSvn: pck.pceSvn,
                userData: createHash('sha256').update(this.state.ppid).digest().subarray(0, 20),
              }
            : {},
        body: this.body(reportData),
        attestationKey: ak.raw,
        qeReport,
        qeReportSignature,
        qeAuthData: QE_AUTH_DATA,
        pckChainPem: `${pck.certPem}${this.state.platformCa.certPem}${this.state.root.certPem}`,
        sign: (m) => signRaw(ak, m),
      });
      return { tee: this.tee, evidence: quote };
    } catch (e) {
      if (e instanceof RatlsError) throw e;
      throw new ProviderError(
        'ERR_SIM_QUOTE',
        'sim',
        `simulated quote: ${e instanceof Error ? e.message : String(e)}`,
        {
          cause: e,
        },
      );
    }
  }
}
