/**
 * AWS Nitro Enclaves Secure Module (NSM) quote provider.
 *
 * The NSM is reached through one ioctl on /dev/nsm (`_IOWR(0x0A, 0, struct nsm_message)`, an iovec
 * pair holding a CBOR request and a response buffer of up to 12 KiB), per the aws-nitro-enclaves-nsm-api
 * driver interface. Node cannot issue an ioctl without a native addon, and ratls ships none: the
 * transport is injected. Without one, a present /dev/nsm yields ERR_PROVIDER_UNSUPPORTED.
 * This module owns everything else: the CBOR request `{"Attestation": {"user_data", "nonce",
 * "public_key"}}`, the response `{"Attestation": {"document"}}` or `{"Error": "<code>"}`, bounds, and
 * a check that the returned document is a well-formed attestation document carrying our user_data.
 */
import { bytesEqual, ProviderError, parseNitroDocument, RatlsError } from '@ratls/evidence';
import { decode, encode } from 'cbor2';
import { nodeProviderFs, type ProviderFs } from './fs.js';
import { checkReportData } from './io.js';
import type { Evidence, QuoteProvider } from './types.js';

const STEP = 'provider';
/** The NSM driver's maximum response size (NSM_RESPONSE_MAX_SIZE, 0x3000). */
export const NSM_MAX_RESPONSE = 0x3000;
/** NSM limits user_data and nonce to 512 bytes and public_key to 1024 (AWS attestation document spec). */
const MAX_USER_DATA = 512;
const MAX_NONCE = 512;
const MAX_PUBLIC_KEY = 1024;

/** Sends one CBOR request to the NSM and returns its CBOR response (an ioctl on /dev/nsm). */
export type NsmTransport = (request: Uint8Array) => Promise<Uint8Array>;

export interface NitroNsmProviderOptions {
  /** Default /dev/nsm. */
  devicePath?: string;
  fs?: ProviderFs;
  /** The ioctl transport (a native addon). Without it, the provider reports ERR_PROVIDER_UNSUPPORTED. */
  transport?: NsmTransport;
  /** Optional `public_key` to place in every document (e.g. the TLS key's SPKI DER). */
  publicKey?: Uint8Array;
}

export interface NsmAttestationRequest {
  userData?: Uint8Array | null;
  nonce?: Uint8Array | null;
  publicKey?: Uint8Array | null;
}

function field(v: Uint8Array | null | undefined, name: string, max: number): Uint8Array | null {
  if (v === undefined || v === null) return null;
  if (!(v instanceof Uint8Array) || v.length > max)
    throw new ProviderError('ERR_PROVIDER_INPUT_INVALID', STEP, `nitro-nsm: ${name} must be at most ${max} bytes`);
  return v;
}

/**
 * Encodes an NSM Attestation request exactly as the NSM expects (serde CBOR of
 * `Request::Attestation { user_data, nonce, public_key }`).
 * @example encodeNsmAttestationRequest({ userData: reportData })
 */
export function encodeNsmAttestationRequest(r: NsmAttestationRequest): Uint8Array {
  const body = new Map<string, Uint8Array | null>([
    ['user_data', field(r.userData, 'user_data', MAX_USER_DATA)],
    ['nonce', field(r.nonce, 'nonce', MAX_NONCE)],
    ['public_key', field(r.publicKey, 'public_key', MAX_PUBLIC_KEY)],
  ]);
  return encode(new Map([['Attestation', body]]));
}

/**
 * Decodes an NSM response to an Attestation request: the COSE_Sign1 document bytes, or a typed
 * error for `{"Error": code}` and anything malformed.
 * @example const doc = decodeNsmAttestationResponse(await transport(req))
 */
export function decodeNsmAttestationResponse(resp: Uint8Array): Uint8Array {
  if (!(resp instanceof Uint8Array) || resp.length === 0 || resp.length > NSM_MAX_RESPONSE) {
    throw new ProviderError(
      'ERR_PROVIDER_NSM_RESPONSE',
      STEP,
      `nitro-nsm: response of ${resp?.length ?? 0} bytes is out of bounds (1..${NSM_MAX_RESPONSE})`,
    );
  }
  let v: unknown;
  try {
    v = decode(resp, { preferMap: true, rejectDuplicateKeys: true, ignoreGlobalTags: true, maxDepth: 4 });
  } catch (e) {
    throw new ProviderError('ERR_PROVIDER_NSM_RESPONSE', STEP, 'nitro-nsm: response is not valid CBOR', { cause: e });
  }
  if (typeof v === 'string')
    throw new ProviderError('ERR_PROVIDER_NSM_RESPONSE', STEP, `nitro-nsm: unexpected response "${v.slice(0, 40)}"`);
  if (!(v instanceof Map) || v.size !== 1)
    throw new ProviderError('ERR_PROVIDER_NSM_RESPONSE', STEP, 'nitro-nsm: response is not a one-entry map');
  const err = v.get('Error');
  if (err !== undefined) {
    throw new ProviderError(
      'ERR_PROVIDER_NSM_ERROR',
      STEP,
      `nitro-nsm: the NSM refused the request: ${typeof err === 'string' ? err.slice(0, 40) : 'unknown error'}`,
    );
  }
  const att = v.get('Attestation');
  const doc = att instanceof Map ? att.get('document') : undefined;
  if (!(doc instanceof Uint8Array) || doc.length === 0) {
    throw new ProviderError(
      'ERR_PROVIDER_NSM_RESPONSE',
      STEP,
      'nitro-nsm: response has no Attestation.document byte string',
    );
  }
  return new Uint8Array(doc);
}

/**
 * Nitro Enclaves quote provider. `getEvidence(reportData)` asks the NSM for a document whose
 * `user_data` is the 64 report-data bytes (and `public_key`, if configured).
 *
 * @example
 * const nsm = new NitroNsmProvider({ transport: myIoctlAddon.nsmCall });
 * const { evidence } = await nsm.getEvidence(reportData);
 */
export class NitroNsmProvider implements QuoteProvider {
  readonly name = 'nitro-nsm';
  readonly tee = 'nitro' as const;
  readonly #device: string;
  readonly #fs: ProviderFs;
  readonly #transport: NsmTransport | undefined;
  readonly #publicKey: Uint8Array | undefined;

  constructor(opts: NitroNsmProviderOptions = {}) {
    this.#device = opts.devicePath ?? '/dev/nsm';
    this.#fs = opts.fs ?? nodeProviderFs;
    this.#transport = opts.transport;
    this.#publicKey = opts.publicKey;
  }

  async getEvidence(reportData: Uint8Array): Promise<Evidence> {
    checkReportData(reportData, this.name);
    const evidence = await this.attest({ userData: reportData, publicKey: this.#publicKey ?? null });
    return { tee: 'nitro', evidence };
  }

  /** One NSM Attestation call with explicit fields; returns the document after checking it echoes them. */
  async attest(req: NsmAttestationRequest): Promise<Uint8Array> {
    const request = encodeNsmAttestationRequest(req);
    if (!(await this.#fs.exists(this.#device))) {
      throw new ProviderError(
        'ERR_PROVIDER_NOT_FOUND',
        STEP,
        `nitro-nsm: ${this.#device} does not exist: not inside a Nitro enclave`,
      );
    }
    if (!this.#transport) {
      throw new ProviderError(
        'ERR_PROVIDER_UNSUPPORTED',
        STEP,
        `nitro-nsm: ${this.#device} exists, but talking to it needs an ioctl, which Node can only issue through a native addon; ratls does not ship one. Pass a transport (NitroNsmProviderOptions.transport).`,
      );
    }
    let resp: Uint8Array;
    try {
      resp = await this.#transport(request);
    } catch (e) {
      throw new ProviderError(
        'ERR_PROVIDER_NSM_TRANSPORT',
        STEP,
        `nitro-nsm: ioctl on ${this.#device} failed (${e instanceof Error ? e.message : String(e)})`,
        { cause: e },
      );
    }
    const doc = decodeNsmAttestationResponse(resp);
    let parsed: ReturnType<typeof parseNitroDocument>;
    try {
      parsed = parseNitroDocument(doc);
    } catch (e) {
      throw new ProviderError(
        'ERR_PROVIDER_NSM_RESPONSE',
        STEP,
        `nitro-nsm: document does not parse (${e instanceof RatlsError ? e.code : 'error'})`,
        { cause: e },
      );
    }
    const echoes = (asked: Uint8Array | null | undefined, got: Uint8Array | null): boolean =>
      asked === undefined || asked === null ? got === null || got.length === 0 : got !== null && bytesEqual(asked, got);
    if (
      !echoes(req.userData, parsed.userData) ||
      !echoes(req.nonce, parsed.nonce) ||
      !echoes(req.publicKey, parsed.publicKey)
    ) {
      throw new ProviderError(
        'ERR_PROVIDER_NSM_RESPONSE',
        STEP,
        'nitro-nsm: document user_data/nonce/public_key differ from the request',
      );
    }
    return doc;
  }
}
