/**
 * TLS credentials that keep themselves attested: a key made in the TEE, a certificate carrying
 * fresh evidence for it, and re-attestation with a NEW key before the certificate expires (a key
 * that lives only as long as its quote limits what a leaked key is worth).
 */

import type { KeyObject } from 'node:crypto';
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ConfigError, RatlsError, toRatlsError } from '@ratls/evidence';
import type { Evidence, QuoteProvider } from '../providers/types.js';
import {
  buildRaTlsCertificate,
  type CertificateAttestation,
  type CertificateFormat,
  DEFAULT_VALIDITY_SECONDS,
  type RaTlsCertificate,
} from './certificate.js';
import type { CertificateIssuer } from './issuer.js';
import { exportPrivateKeyPem, generateKeyPair, type KeyPair, type KeyType } from './keys.js';

/** Default renewal margin: a quarter of the lifetime (15 minutes for the 1-hour default). */
export const DEFAULT_RENEW_FRACTION = 0.25;
/** After a failed renewal, retry after a quarter of the remaining lifetime, within these bounds. */
export const RETRY_MIN_MS = 1_000;
export const RETRY_MAX_MS = 60_000;
/** setTimeout's ceiling (2^31 − 1 ms); longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface AttestedCredentialsOptions {
  provider: QuoteProvider;
  /** Default 'P-256'. */
  keyType?: KeyType;
  /** Certificate lifetime in seconds; default 3600 (1 hour). */
  validitySeconds?: number;
  /** Renew this long before notAfter; default a quarter of validitySeconds. */
  renewBeforeSeconds?: number;
  nonce?: Uint8Array;
  /** Default 'dice'. */
  format?: CertificateFormat;
  subject?: string;
  altNames?: readonly string[];
  /** Milliseconds since the epoch; default Date.now. Used for certificate times and scheduling. */
  clock?: () => number;
  /** Sign with this CA instead of self-signing. */
  issuer?: CertificateIssuer;
  /** Set false to disable automatic renewal (call renew() yourself). Default true. */
  autoRenew?: boolean;
}

/** Payload of the 'renewed' event: public facts only. */
export interface RenewedEvent {
  cert: string;
  notBefore: Date;
  notAfter: Date;
  spkiSha256: string;
}

interface Current {
  keyPair: KeyPair;
  cert: RaTlsCertificate;
}

export interface AttestedCredentialsEvents {
  renewed: [RenewedEvent];
  error: [RatlsError];
}

/**
 * Attested TLS credentials. Events: `'renewed'` (new key and certificate in place) and `'error'`
 * (a renewal failed; the current credentials stay until they expire and renewal is retried).
 * Without an 'error' listener failures become process warnings instead of crashing the process.
 */
export class AttestedCredentials extends EventEmitter<AttestedCredentialsEvents> {
  #current: Current;
  #opts: AttestedCredentialsOptions;
  #renewBeforeMs: number;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #closed = false;

  /** @internal use createAttestedCredentials */
  constructor(opts: AttestedCredentialsOptions, first: Current, renewBeforeMs: number) {
    super();
    this.#opts = opts;
    this.#current = first;
    this.#renewBeforeMs = renewBeforeMs;
    if (opts.autoRenew !== false) this.#schedule(this.#renewAt());
  }

  /** The private key (in memory only). */
  get key(): KeyObject {
    return this.#current.keyPair.privateKey;
  }
  /** PKCS#8 PEM of the key, in memory only: never write it outside the TEE. */
  get keyPem(): string {
    return exportPrivateKeyPem(this.#current.keyPair);
  }
  get keyType(): KeyType {
    return this.#current.keyPair.keyType;
  }
  /** Certificate PEM. */
  get cert(): string {
    return this.#current.cert.pem;
  }
  get certDer(): Uint8Array {
    return this.#current.cert.der;
  }
  get notBefore(): Date {
    return this.#current.cert.notBefore;
  }
  get notAfter(): Date {
    return this.#current.cert.notAfter;
  }
  /** The evidence in the certificate (the DICE one when the format is 'both'). */
  get evidence(): Evidence {
    const a = this.#current.cert.attestations;
    const pick = a.find((x) => x.format === 'dice') ?? a[0];
    if (pick === undefined) throw new RatlsError('ERR_INTERNAL', 'credentials', 'certificate without evidence');
    return pick.evidence;
  }
  get attestations(): readonly CertificateAttestation[] {
    return this.#current.cert.attestations;
  }
  /** True once the clock has passed notAfter (a renewal kept failing). */
  get expired(): boolean {
    return this.#now() >= this.notAfter.getTime();
  }

  /**
   * `{ key, cert }` for `tls.createServer`, `tls.createSecureContext` or `server.setSecureContext`.
   * The key is PEM in memory, because Node's TLS takes PEM or DER, not a KeyObject.
   */
  secureContextOptions(): { key: string; cert: string } {
    return { key: this.keyPem, cert: this.cert };
  }

  /**
   * Re-attests now with a new key. Concurrent calls share one renewal. Rejects with the typed
   * error on failure (and emits 'error'); the current credentials are kept.
   */
  renew(): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ConfigError('ERR_CREDENTIALS_CLOSED', 'credentials', 'renew() after close()'));
    }
    this.#inFlight ??= this.#renew().finally(() => {
      this.#inFlight = undefined;
    });
    return this.#inFlight;
  }

  /** Stops automatic renewal. The current credentials stay readable. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Public facts only: never the private key. */
  toJSON(): Record<string, unknown> {
    const a = this.#current.cert.attestations;
    return {
      keyType: this.keyType,
      spkiSha256: spkiSha256(this.#current.keyPair),
      notBefore: this.notBefore.toISOString(),
      notAfter: this.notAfter.toISOString(),
      attestations: a.map((x) => ({
        format: x.format,
        tee: x.evidence.tee,
        evidenceBytes: x.evidence.evidence.length,
      })),
    };
  }

  #now(): number {
    return (this.#opts.clock ?? Date.now)();
  }

  #renewAt(): number {
    return this.notAfter.getTime() - this.#renewBeforeMs;
  }

  #schedule(at: number): void {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    const delay = Math.min(Math.max(0, at - this.#now()), MAX_TIMER_MS);
    this.#timer = setTimeout(() => this.#onTimer(at), delay);
    this.#timer.unref();
  }

  #onTimer(at: number): void {
    this.#timer = undefined;
    if (this.#closed) return;
    if (this.#now() < at) {
      this.#schedule(at); // woke early (long wait split, or clock adjusted)
      return;
    }
    this.renew().catch(() => undefined); // reported through 'error' in #renew
  }

  async #renew(): Promise<void> {
    let next: Current;
    try {
      next = await attestOnce(this.#opts);
    } catch (e) {
      const err = toRatlsError(e, 'ERR_CREDENTIALS_RENEWAL', 'credentials');
      if (!this.#closed && this.#opts.autoRenew !== false) {
        const remaining = this.notAfter.getTime() - this.#now();
        const retry = Math.min(RETRY_MAX_MS, Math.max(RETRY_MIN_MS, Math.floor(remaining / 4)));
        this.#schedule(this.#now() + retry);
      }
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else process.emitWarning(`ratls: credential renewal failed: ${err.code}: ${err.message}`, 'RatlsWarning');
      throw err;
    }
    if (this.#closed) return;
    this.#current = next;
    // Never renew more often than RETRY_MIN_MS, even when the lifetime is tiny.
    if (this.#opts.autoRenew !== false) this.#schedule(Math.max(this.#renewAt(), this.#now() + RETRY_MIN_MS));
    this.emit('renewed', {
      cert: next.cert.pem,
      notBefore: next.cert.notBefore,
      notAfter: next.cert.notAfter,
      spkiSha256: spkiSha256(next.keyPair),
    });
  }
}

function spkiSha256(kp: KeyPair): string {
  return createHash('sha256').update(kp.spkiDer).digest('hex');
}

async function attestOnce(o: AttestedCredentialsOptions): Promise<Current> {
  const keyPair = await generateKeyPair(o.keyType ?? 'P-256');
  const cert = await buildRaTlsCertificate({
    keyPair,
    provider: o.provider,
    ...(o.format !== undefined && { format: o.format }),
    ...(o.subject !== undefined && { subject: o.subject }),
    ...(o.altNames !== undefined && { altNames: o.altNames }),
    ...(o.validitySeconds !== undefined && { validitySeconds: o.validitySeconds }),
    ...(o.nonce !== undefined && { nonce: o.nonce }),
    ...(o.clock !== undefined && { clock: o.clock }),
    ...(o.issuer !== undefined && { issuer: o.issuer }),
  });
  return { keyPair, cert };
}

/**
 * Generates a key, attests it once, and returns credentials that renew themselves before expiry.
 *
 * @example
 * const creds = await createAttestedCredentials({ provider: await detectQuoteProvider() });
 * const server = tls.createServer(creds.secureContextOptions(), onSocket);
 * creds.on('renewed', () => server.setSecureContext(creds.secureContextOptions()));
 * creds.on('error', (e) => log.warn(e.toJSON()));
 */
export async function createAttestedCredentials(opts: AttestedCredentialsOptions): Promise<AttestedCredentials> {
  const validity = opts.validitySeconds ?? DEFAULT_VALIDITY_SECONDS;
  const renewBefore = opts.renewBeforeSeconds ?? validity * DEFAULT_RENEW_FRACTION;
  if (typeof renewBefore !== 'number' || !Number.isFinite(renewBefore) || renewBefore <= 0 || renewBefore >= validity) {
    throw new ConfigError(
      'ERR_CONFIG_RENEW_BEFORE',
      'credentials',
      `createAttestedCredentials: renewBeforeSeconds must be > 0 and < validitySeconds (${validity}), got ${String(renewBefore)}`,
    );
  }
  const first = await attestOnce(opts);
  return new AttestedCredentials({ ...opts }, first, Math.round(renewBefore * 1000));
}
