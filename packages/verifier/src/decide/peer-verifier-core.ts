/**
 * The relying-party step for one TLS peer: verified result (cached) → policy (every time) →
 * exactly one audit event. The appraisal functions are injected so the composition can be tested
 * with fixed inputs; `createPeerVerifier` wires in the real certificate verifier and policy.
 * The wrappers' clock reading (`PeerContext.at`, unix milliseconds) is converted to unix seconds
 * once, here at the wrappers' boundary; everything below takes seconds.
 */
import { type ChannelAnswer, MAX_RATLS_CERT_BYTES, RatlsError, sha256Hex, toRatlsError } from '@ratls/evidence';
import { raceAbort } from '../abort.js';
import { Lru } from '../cache/lru.js';
import { deepFreeze } from '../freeze.js';
import type { IdentityCheck } from '../policy/claims.js';
import type { Decision } from '../policy/types.js';
import { type AttestationResult, isVerifiedResult } from '../result.js';
import { secondsFromMs, type UnixSeconds } from '../time.js';
import { TLS_ERRORS } from './errors.js';
import { enclaveDifference } from './same-enclave.js';
import type {
  ChannelAppraisalInput,
  Freshness,
  PeerAppraiser,
  PeerCertificateInfo,
  PeerContext,
  PeerDecision,
  PeerRole,
} from './types.js';

/** What certificate verification hands back (the shape of certificate/'s `CertificateVerification`). */
export interface PeerVerification {
  result: AttestationResult;
  certificate: PeerCertificateInfo;
  binding: { formats: string[] };
}

/** The audit input this layer produces (a subset of audit/'s `record` input). */
export interface PeerAuditInput {
  decision?: Decision;
  result?: AttestationResult;
  error?: { code: string; message: string };
  peer?: { ip?: string; port?: number; certSha256?: string; role?: PeerRole };
  local?: { ip?: string; port?: number };
  listener?: string;
  format?: string;
  freshness?: Freshness;
  at?: Date;
  /** What the policy tried, and the certificate's notBefore: the decision trace's inputs. */
  checks?: IdentityCheck[];
  certificate?: { notBefore: number };
}

export interface PeerAuditLog {
  record(input: PeerAuditInput): unknown;
}

export interface PeerVerifierCoreOptions {
  /** Verifies the certificate and its evidence at `at`; throws a RatlsError on failure. */
  verify(
    certDer: Uint8Array,
    opts: { at: UnixSeconds; expectedNonce?: Uint8Array; peerPublicKey?: PeerContext['peerPublicKey'] },
  ): Promise<PeerVerification>;
  /** Applies the current policy; called on every connection so a reload applies at once. */
  evaluate(
    result: AttestationResult,
    ctx: { certificate: { notBefore: number }; at: UnixSeconds; checks?: IdentityCheck[] },
  ): Decision;
  audit?: PeerAuditLog;
  cache?: { maxEntries?: number };
  listener?: string;
  /** Bound on one certificate's verification (default 10 s). */
  appraisalTimeoutMs?: number;
  /** Bound on the peer certificate's size (default evidence's MAX_RATLS_CERT_BYTES, 256 KiB). */
  maxCertificateBytes?: number;
  /** The freshness the policy requires of an accepted peer (default: certificate for everyone). */
  freshness?(decision: Decision): Freshness;
  /** Appraises fresh channel evidence at `at` through the same appraisal code; throws a RatlsError on failure. */
  appraiseFresh?(answer: ChannelAnswer, at: UnixSeconds): Promise<AttestationResult>;
}

export interface PeerVerifier extends PeerAppraiser {
  /** Number of cached verified results (for tests and metrics). */
  readonly cacheSize: number;
  /** Drops every cached result (e.g. after a trust-anchor change). */
  clearCache(): void;
}

const DEFAULT_APPRAISAL_TIMEOUT_MS = 10_000;
const DEFAULT_CACHE_ENTRIES = 1024;

/**
 * Builds a PeerAppraiser from injected verification and policy steps.
 * @example
 * const v = createPeerVerifierCore({ verify: (der, o) => verifyCertificate(der, o), evaluate: (r, c) => evaluatePolicy(p, r, c) })
 * const d = await v.appraise(der, { at: Date.now(), peer: { role: 'client' } })
 */
export function createPeerVerifierCore(opts: PeerVerifierCoreOptions): PeerVerifier {
  const cache = new Lru<string, PeerVerification>(opts.cache?.maxEntries ?? DEFAULT_CACHE_ENTRIES);
  const inflight = new Map<string, Promise<PeerVerification>>();
  const timeoutMs = opts.appraisalTimeoutMs ?? DEFAULT_APPRAISAL_TIMEOUT_MS;
  const maxBytes = opts.maxCertificateBytes ?? MAX_RATLS_CERT_BYTES;

  function audit(input: PeerAuditInput): void {
    try {
      opts.audit?.record(input);
    } catch {
      // A failing audit sink must not change the decision or crash the connection path.
    }
  }

  /** One verification per fingerprint at a time; its success fills the cache. */
  function verifyShared(
    fp: string,
    der: Uint8Array,
    at: UnixSeconds,
    peerPublicKey: PeerContext['peerPublicKey'],
  ): Promise<PeerVerification> {
    const running = inflight.get(fp);
    if (running) return running;
    // A connection joining a running verification has the same certificate bytes (fp is their
    // SHA-256), so the first connection's TLS key is that certificate's key too.
    const p = withTimeout(opts.verify(der, { at, ...(peerPublicKey ? { peerPublicKey } : {}) }), timeoutMs).then(
      (v) => {
        if (isVerifiedResult(v.result)) {
          const from = Math.max(v.certificate.notBefore, v.result.collateralWindow.notBefore);
          const until = Math.min(v.certificate.notAfter, v.result.collateralWindow.notAfter);
          // The cached entry is shared by every later connection with this certificate: frozen, so
          // no application that received it (socket.attestation) can edit what the next peer gets.
          cache.set(fp, deepFreeze(v, false), { from, until });
        }
        return v;
      },
    );
    inflight.set(fp, p);
    const done = () => inflight.delete(fp);
    p.then(done, done);
    return p;
  }

  type Decided = PeerDecision & { format?: string; checks?: IdentityCheck[] };

  async function decide(der: Uint8Array, ctx: PeerContext, fp: string): Promise<Decided> {
    const atSec = secondsFromMs(ctx.at);
    let v: PeerVerification | undefined;
    if (ctx.expectedNonce) {
      // A nonce makes the result specific to this connection: never cached, never shared.
      const key = ctx.peerPublicKey ? { peerPublicKey: ctx.peerPublicKey } : {};
      v = await withTimeout(opts.verify(der, { at: atSec, expectedNonce: ctx.expectedNonce, ...key }), timeoutMs);
    } else {
      v = cache.get(fp, atSec) ?? (await verifyShared(fp, der, atSec, ctx.peerPublicKey));
    }
    return decideOn(v, atSec);
  }

  /** The policy on a verified result, synchronous: the same step for a cached result and a new one. */
  function decideOn(v: PeerVerification, atSec: UnixSeconds): Decided {
    if (!isVerifiedResult(v.result)) {
      throw new RatlsError(
        TLS_ERRORS.RESULT_UNVERIFIED,
        'tls',
        'certificate verifier returned a result no appraiser made',
      );
    }
    const checks: IdentityCheck[] = [];
    const decision = opts.evaluate(v.result, {
      certificate: { notBefore: v.certificate.notBefore },
      at: atSec,
      checks,
    });
    return {
      checks,
      accept: decision.accept === true,
      result: v.result,
      decision,
      certificate: v.certificate,
      format: v.binding.formats[0],
    };
  }

  function failed(e: unknown): Decided {
    const err = toRatlsError(e, TLS_ERRORS.APPRAISER_FAILED, 'tls');
    return { accept: false, error: { code: err.code, message: err.message } };
  }

  /** A certificate decision's one audit event (none in channel mode: the channel step records it). */
  function conclude(out: Decided, ctx: Omit<PeerContext, 'signal'>, fp: string): PeerDecision {
    const channel =
      out.accept &&
      out.decision !== undefined &&
      (ctx.freshness === 'channel' || opts.freshness?.(out.decision) === 'channel');
    const { format: _format, checks: _checks, ...decision } = out;
    if (channel) return { ...decision, freshness: 'channel' };
    const listener = ctx.listener ?? opts.listener;
    audit({
      ...(out.decision ? { decision: out.decision } : {}),
      ...(out.result ? { result: out.result } : {}),
      ...(out.error ? { error: out.error } : {}),
      peer: { ip: ctx.peer.ip, port: ctx.peer.port, role: ctx.peer.role, certSha256: fp },
      ...(ctx.local ? { local: ctx.local } : {}),
      ...(listener ? { listener } : {}),
      ...(out.format ? { format: out.format } : {}),
      freshness: 'certificate',
      ...(out.checks ? { checks: out.checks } : {}),
      ...(out.certificate ? { certificate: { notBefore: out.certificate.notBefore } } : {}),
      at: new Date(ctx.at),
    });
    return out.accept ? { ...decision, freshness: 'certificate' } : decision;
  }

  /** Fresh evidence → same appraisal → binder → same enclave → policy again, same identity. */
  async function decideChannel(input: ChannelAppraisalInput, ctx: PeerContext): Promise<PeerDecision> {
    const cert = input.certificate;
    if (!opts.appraiseFresh) {
      throw new RatlsError('ERR_CHANNEL_UNSUPPORTED', 'channel', 'this appraiser cannot appraise channel evidence');
    }
    if (!cert.accept || !cert.result || !isVerifiedResult(cert.result) || !cert.decision?.accept) {
      throw new RatlsError(TLS_ERRORS.RESULT_UNVERIFIED, 'channel', 'channel evidence without an accepted certificate');
    }
    const atSec = secondsFromMs(ctx.at);
    const fresh = await withTimeout(opts.appraiseFresh(input.answer, atSec), timeoutMs);
    if (!isVerifiedResult(fresh)) {
      throw new RatlsError(
        TLS_ERRORS.RESULT_UNVERIFIED,
        'channel',
        'channel appraisal returned a result no appraiser made',
      );
    }
    const want = Buffer.from(input.reportData).toString('hex');
    const got = fresh.tee === 'nitro' ? fresh.measurements.userData : fresh.measurements.reportData;
    if (got !== want) {
      throw new RatlsError(
        'ERR_CHANNEL_BINDING_MISMATCH',
        'channel',
        `fresh ${fresh.tee} evidence is not bound to this connection: report data ${(got ?? 'absent').slice(0, 32)}… is not this connection's binder ${want.slice(0, 32)}…`,
      );
    }
    const diff = enclaveDifference(cert.result, fresh);
    if (diff) {
      throw new RatlsError(
        'ERR_CHANNEL_IDENTITY_MISMATCH',
        'channel',
        `fresh evidence names another enclave than the certificate (${diff} differs)`,
      );
    }
    const notBefore = cert.certificate?.notBefore ?? 0;
    const decision = opts.evaluate(fresh, { certificate: { notBefore }, at: atSec });
    if (decision.accept && decision.identity !== cert.decision.identity) {
      throw new RatlsError(
        'ERR_CHANNEL_IDENTITY_MISMATCH',
        'channel',
        `fresh evidence matches identity ${decision.identity}, the certificate ${cert.decision.identity}`,
      );
    }
    return {
      accept: decision.accept === true,
      result: fresh,
      decision,
      ...(cert.certificate ? { certificate: cert.certificate } : {}),
      freshness: 'channel',
    };
  }

  return {
    get cacheSize() {
      return cache.size;
    },
    clearCache() {
      cache.clear();
    },
    async appraise(certDer, ctx) {
      const fp = sha256Hex(certDer);
      let out: Decided;
      try {
        if (certDer.byteLength > maxBytes) {
          throw new RatlsError(
            TLS_ERRORS.CERTIFICATE_TOO_LARGE,
            'tls',
            `peer certificate is ${certDer.byteLength} bytes, above the ${maxBytes}-byte bound`,
          );
        }
        const work = decide(certDer, ctx, fp);
        const signal = ctx.signal;
        out = signal ? await raceAbort(work, signal, () => abortReason(signal)) : await work;
      } catch (e) {
        out = failed(e);
      }
      return conclude(out, ctx, fp);
    },
    appraiseCached(certDer, ctx) {
      // Only what `appraise` would find in the result cache: no nonce (never cached), within the
      // size bound (`appraise` refuses a larger one), a result still inside its window at `ctx.at`
      // (`Lru.get` checks it). Anything else is left to `appraise`, which decides it from scratch.
      if (ctx.expectedNonce || certDer.byteLength > maxBytes) return undefined;
      const fp = sha256Hex(certDer);
      const atSec = secondsFromMs(ctx.at);
      const v = cache.get(fp, atSec);
      if (!v) return undefined;
      let out: Decided;
      try {
        out = decideOn(v, atSec);
      } catch (e) {
        out = failed(e);
      }
      return conclude(out, ctx, fp);
    },
    async appraiseChannel(input, ctx) {
      const listener = ctx.listener ?? opts.listener;
      const fp = input.certificate.certificate?.fingerprintSha256;
      const peer = { ip: ctx.peer.ip, port: ctx.peer.port, role: ctx.peer.role, ...(fp ? { certSha256: fp } : {}) };
      let out: PeerDecision;
      try {
        const work = decideChannel(input, ctx);
        const signal = ctx.signal;
        out = signal ? await raceAbort(work, signal, () => abortReason(signal)) : await work;
      } catch (e) {
        const err = toRatlsError(e, TLS_ERRORS.APPRAISER_FAILED, 'channel');
        out = { accept: false, error: { code: err.code, message: err.message }, freshness: 'channel' };
      }
      audit({
        ...(out.decision ? { decision: out.decision } : {}),
        ...(out.result ? { result: out.result } : input.certificate.result ? { result: input.certificate.result } : {}),
        ...(out.error ? { error: out.error } : {}),
        peer,
        ...(listener ? { listener } : {}),
        format: `channel:${input.answer.tee}`,
        freshness: 'channel',
        at: new Date(ctx.at),
      });
      return out;
    },
    reject(error, ctx) {
      const listener = ctx.listener ?? opts.listener;
      audit({
        error: { code: error.code, message: error.message },
        ...(ctx.freshness ? { freshness: ctx.freshness } : {}),
        peer: { ip: ctx.peer.ip, port: ctx.peer.port, role: ctx.peer.role },
        ...(ctx.local ? { local: ctx.local } : {}),
        ...(listener ? { listener } : {}),
        at: new Date(ctx.at),
      });
    },
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(
      () =>
        reject(
          new RatlsError(TLS_ERRORS.APPRAISAL_TIMEOUT, 'tls', `certificate appraisal did not finish within ${ms} ms`),
        ),
      ms,
    );
    t.unref();
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

function abortReason(signal: AbortSignal): RatlsError {
  const r: unknown = signal.reason;
  return r instanceof RatlsError
    ? r
    : new RatlsError(TLS_ERRORS.CLOSED_BEFORE_DECISION, 'tls', 'connection ended before the attestation decision');
}
