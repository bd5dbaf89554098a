/**
 * Audit events: one ECS-style JSON object per decision (accept or reject), so the existing log
 * pipeline and SIEM can alert on them. Pure: input in, bounded event out; nothing from the peer
 * beyond measurements and addresses is copied, never keys or raw evidence.
 */
import type { IdentityCheck } from '../policy/claims.js';
import type { Decision } from '../policy/types.js';
import type { AttestationResult } from '../result.js';
import { buildDecisionTrace, type DecisionTrace } from './trace.js';

export const ECS_VERSION = '8.11.0';
/** Longest `message` / `error.message` written; longer text is cut with an ellipsis. */
export const MAX_MESSAGE_CHARS = 1024;
const MAX_SHORT_CHARS = 128;
const MAX_ADVISORIES = 64;

export interface AuditPeer {
  ip?: string;
  port?: number;
  /** SHA-256 of the peer certificate DER, hex. */
  certSha256?: string;
  /** The peer's TLS role: 'client' when we are the server (default), 'server' when we connected out. */
  role?: 'client' | 'server';
}

export interface AuditInput {
  decision?: Decision;
  result?: AttestationResult;
  /** A RatlsError (or anything with code and message); only code and message are logged. */
  error?: { code: string; message: string };
  peer?: AuditPeer;
  /** Our own end of the connection (ECS destination when the peer is the client). */
  local?: { ip?: string; port?: number };
  listener?: string;
  /** Evidence format that carried the evidence (e.g. 'dice', 'gramine', 'nitro'). */
  format?: string;
  /** Which evidence decided: the certificate's or fresh channel-bound evidence. */
  freshness?: 'certificate' | 'channel';
  /** ECS event.action; default 'ratls-handshake'. */
  action?: string;
  at?: Date;
  /** The identities the policy tried (`evaluatePolicy`'s `ctx.checks`), for the decision trace. */
  checks?: readonly IdentityCheck[];
  /** The peer certificate's notBefore (unix seconds), for the decision trace. */
  certificate?: { notBefore: number };
}

export interface AuditAttestation {
  tee?: string;
  format?: string;
  simulated?: boolean;
  debug?: boolean;
  mr_enclave?: string;
  mr_signer?: string;
  isv_prod_id?: number;
  isv_svn?: number;
  mr_td?: string;
  mr_seam?: string;
  rtmr0?: string;
  rtmr1?: string;
  rtmr2?: string;
  rtmr3?: string;
  measurement?: string;
  host_data?: string;
  pcr0?: string;
  pcr1?: string;
  pcr2?: string;
  pcr8?: string;
  tcb_status?: string;
  advisory_ids?: string[];
  identity?: string;
  closest_identity?: string;
  /** Waivers (or `outOfDateGrace`) without which the peer would have been refused, comma-joined. */
  waiver?: string;
  /** ISO 8601: when the waiver/grace that admitted the peer ends (the connection closes then). */
  valid_until?: string;
  tcb_evaluation_data_number?: number;
  policy_hash?: string;
  quote_sha256?: string;
  /** 'certificate' or 'channel': which evidence decided. */
  freshness?: 'certificate' | 'channel';
  /** Early TCB warning events only: the status under Intel's `update=early` collateral. */
  early_tcb_status?: string;
  /** Early TCB warning events only: advisories the early set adds. */
  early_advisory_ids?: string[];
  /** Early TCB warning events only: the early appraisal's refusal code. */
  early_error?: string;
}

interface Endpoint {
  ip?: string;
  port?: number;
  /** Connection-close events only (ECS source.bytes / destination.bytes). */
  bytes?: number;
}

export interface AuditEvent {
  '@timestamp': string;
  ecs: { version: string };
  event: {
    kind: 'event';
    category: ('network' | 'configuration' | 'web')[];
    type: ('allowed' | 'denied' | 'change' | 'end' | 'info')[];
    action: string;
    /** 'accepted', a policy reason code, 'verification_failed', 'no_decision', 'reloaded' or 'reload_failed'. */
    reason: string;
    outcome: 'success' | 'failure';
    /** Connection-close events only: nanoseconds (ECS event.duration). */
    duration?: number;
  };
  message: string;
  source?: Endpoint;
  destination?: Endpoint;
  tls?: { client?: { hash: { sha256: string } }; server?: { hash: { sha256: string } } };
  error?: { code: string; message: string };
  labels?: { listener?: string };
  attestation?: AuditAttestation;
  /** HTTP request events only (ECS http.*): the request as forwarded and the answer the client got. */
  http?: {
    request: { method?: string; bytes: number };
    response?: { status_code: number; bytes: number };
  };
  /** HTTP request events only: `path`/`query` as forwarded; `original` is the client's target (bounded). */
  url?: { path?: string; query?: string; original?: string };
  /** ECS process.pid: the gateway worker that handled the attempt (cluster mode only). */
  process?: { pid: number };
  /** Handshake events only: the decision trace (docs/audit.md "Decision trace"), replayable. */
  trace?: DecisionTrace;
  /** Identity events only (issue 15, `identity.issued` / `identity.refused`): what was issued, never the certificate or token. */
  issued?: {
    kind: 'x509' | 'ear';
    serial?: string;
    jti?: string;
    spiffe_id?: string;
    audience?: string;
    ttl_seconds?: number;
    not_after?: string;
  };
}

export function cap(s: string, max = MAX_SHORT_CHARS): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function port(p: number | undefined): number | undefined {
  return p !== undefined && Number.isInteger(p) && p >= 0 && p <= 65535 ? p : undefined;
}

function endpoint(e: { ip?: string; port?: number } | undefined): Endpoint | undefined {
  if (!e) return undefined;
  const out: Endpoint = {};
  if (typeof e.ip === 'string' && e.ip) out.ip = cap(e.ip, 64);
  const p = port(e.port);
  if (p !== undefined) out.port = p;
  return Object.keys(out).length ? out : undefined;
}

function hexField(s: string | undefined): string | undefined {
  return typeof s === 'string' ? cap(s.toLowerCase(), 256) : undefined;
}

function attestationFields(input: AuditInput): AuditAttestation | undefined {
  const a: AuditAttestation = {};
  const r = input.result;
  if (input.format) a.format = cap(input.format);
  if (input.freshness) a.freshness = input.freshness;
  if (r) {
    a.tee = r.tee;
    a.simulated = r.simulated;
    a.debug = r.debug;
    a.quote_sha256 = hexField(r.evidenceSha256);
    if (r.tee === 'sgx') {
      a.mr_enclave = hexField(r.measurements.mrEnclave);
      a.mr_signer = hexField(r.measurements.mrSigner);
      a.isv_prod_id = r.measurements.isvProdId;
      a.isv_svn = r.measurements.isvSvn;
    } else if (r.tee === 'tdx') {
      a.mr_td = hexField(r.measurements.mrTd);
      a.mr_seam = hexField(r.measurements.mrSeam);
      a.rtmr0 = hexField(r.measurements.rtmr0);
      a.rtmr1 = hexField(r.measurements.rtmr1);
      a.rtmr2 = hexField(r.measurements.rtmr2);
      a.rtmr3 = hexField(r.measurements.rtmr3);
    } else if (r.tee === 'sev-snp') {
      a.measurement = hexField(r.measurements.measurement);
      a.host_data = hexField(r.measurements.hostData);
    } else {
      a.pcr0 = hexField(r.measurements.pcrs['0']);
      a.pcr1 = hexField(r.measurements.pcrs['1']);
      a.pcr2 = hexField(r.measurements.pcrs['2']);
      a.pcr8 = hexField(r.measurements.pcrs['8']);
    }
    if (r.tee === 'sgx' || r.tee === 'tdx') {
      a.tcb_status = r.tcbStatus;
      a.advisory_ids = r.advisoryIds.slice(0, MAX_ADVISORIES).map((x) => cap(x, 64));
    }
  }
  const d = input.decision;
  if (d) {
    a.policy_hash = hexField(d.policyHash);
    if (d.accept) a.identity = cap(d.identity);
    else if (d.closest) a.closest_identity = cap(d.closest.identity);
    if (d.accept && d.waivers?.length) a.waiver = cap(d.waivers.join(','));
    if (d.accept && d.validUntil !== undefined && Number.isFinite(d.validUntil)) {
      a.valid_until = new Date(d.validUntil * 1000).toISOString();
    }
    if (d.tcbEvaluationDataNumber !== undefined) a.tcb_evaluation_data_number = d.tcbEvaluationDataNumber;
  }
  for (const k of Object.keys(a) as (keyof AuditAttestation)[]) if (a[k] === undefined) delete a[k];
  return Object.keys(a).length ? a : undefined;
}

/** A byte count as logged: a non-negative safe integer, else 0 (module level: it runs per event). */
function count(n: number | undefined): number {
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

function describePeer(e: Endpoint | undefined): string {
  if (!e?.ip) return 'peer';
  return e.port !== undefined ? `${e.ip.includes(':') ? `[${e.ip}]` : e.ip}:${e.port}` : e.ip;
}

/**
 * Builds the audit event for one decision (pure; `createAuditLog().record` writes it).
 * @example buildAuditEvent({ decision, result, peer: { ip: '10.0.0.7', port: 51234 } }).event.reason // 'accepted'
 */
export function buildAuditEvent(input: AuditInput, now: () => Date = () => new Date()): AuditEvent {
  const { decision, error } = input;
  const action = cap(input.action ?? 'ratls-handshake');
  const allowed = !error && decision?.accept === true;
  let reason: string;
  if (allowed) reason = 'accepted';
  else if (decision && !decision.accept) reason = decision.reasons[0]?.code ?? 'no_decision';
  else if (error) reason = 'verification_failed';
  else reason = 'no_decision';

  const role = input.peer?.role ?? 'client';
  const peer = endpoint(input.peer);
  const local = endpoint(input.local);
  const at = input.at ?? now();
  const ev: AuditEvent = {
    '@timestamp': at.toISOString(),
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'event',
      category: ['network'],
      type: [allowed ? 'allowed' : 'denied'],
      action,
      reason,
      outcome: allowed ? 'success' : 'failure',
    },
    message: '',
  };
  const src = role === 'client' ? peer : local;
  const dst = role === 'client' ? local : peer;
  if (src) ev.source = src;
  if (dst) ev.destination = dst;
  if (input.peer?.certSha256) {
    const hash = { sha256: cap(input.peer.certSha256.toLowerCase().replaceAll(':', ''), 128) };
    ev.tls = role === 'client' ? { client: { hash } } : { server: { hash } };
  }

  let detail = '';
  if (error) {
    ev.error = { code: cap(String(error.code)), message: cap(String(error.message), MAX_MESSAGE_CHARS) };
    detail = `${error.code}: ${error.message}`;
  } else if (decision && !decision.accept) {
    const text = decision.reasons.map((r) => r.message).join('; ');
    ev.error = { code: 'ERR_POLICY_REJECTED', message: cap(text, MAX_MESSAGE_CHARS) };
    detail = `${reason}: ${text}`;
  } else if (!decision) {
    detail = 'no policy decision was made';
  }
  if (input.listener) ev.labels = { listener: cap(input.listener) };
  const att = attestationFields(input);
  if (att) ev.attestation = att;
  ev.trace = buildDecisionTrace({
    at,
    ...(decision ? { decision } : {}),
    ...(input.result ? { result: input.result } : {}),
    ...(error ? { error } : {}),
    ...(input.checks ? { checks: input.checks } : {}),
    ...(input.certificate ? { certificate: input.certificate } : {}),
  });

  const tee = input.result ? ` (${input.result.tee})` : '';
  const who = describePeer(peer);
  ev.message = cap(
    allowed && decision?.accept
      ? `${action} allowed ${who} as ${decision.identity}${tee}`
      : `${action} denied ${who}${tee}: ${detail}`,
    MAX_MESSAGE_CHARS,
  );
  return ev;
}

export interface PolicyReloadInput {
  ok: boolean;
  /** Hash of the policy now in force (the new one on success, the kept one on failure). */
  hash?: string;
  previousHash?: string;
  source?: string;
  error?: { code: string; message: string };
  at?: Date;
}

/**
 * The audit event for a policy reload attempt (ECS category configuration, type change).
 * @example buildPolicyReloadEvent({ ok: true, hash, source: 'policy.yaml' }).event.reason // 'reloaded'
 */
export function buildPolicyReloadEvent(input: PolicyReloadInput, now: () => Date = () => new Date()): AuditEvent {
  const ok = input.ok && !input.error;
  const ev: AuditEvent = {
    '@timestamp': (input.at ?? now()).toISOString(),
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'event',
      category: ['configuration'],
      type: ['change'],
      action: 'policy-reload',
      reason: ok ? 'reloaded' : 'reload_failed',
      outcome: ok ? 'success' : 'failure',
    },
    message: '',
  };
  const src = input.source ? cap(input.source, 256) : 'policy';
  if (input.error) {
    ev.error = { code: cap(String(input.error.code)), message: cap(String(input.error.message), MAX_MESSAGE_CHARS) };
  }
  if (input.hash) ev.attestation = { policy_hash: hexField(input.hash) as string };
  const hash = input.hash ? input.hash.slice(0, 12) : 'none';
  ev.message = cap(
    ok
      ? `policy ${src} reloaded: ${input.previousHash ? `${input.previousHash.slice(0, 12)} → ` : ''}${hash}`
      : `policy ${src} reload failed, keeping ${hash}: ${input.error?.message ?? 'unknown error'}`,
    MAX_MESSAGE_CHARS,
  );
  return ev;
}

export interface HttpRequestAuditInput {
  listener?: string;
  /** The TLS client. */
  peer?: { ip?: string; port?: number };
  /** The policy identity of the connection (absent when it had none). */
  identity?: string;
  method?: string;
  /** The client's request-target as received. */
  target?: string;
  /** Path (and query, with its `?`) as forwarded to the backend; absent when refused. */
  forwardedPath?: string;
  forwardedQuery?: string;
  /** Status the client received (or would have, for a refusal the parser answered). */
  status?: number;
  requestBytes?: number;
  responseBytes?: number;
  /** Why the gateway refused or failed the request: a stable reason and code. Absent when forwarded. */
  refusal?: { reason: string; code: string; message: string };
  at?: Date;
}

/**
 * The audit event for one HTTP request on an accepted connection: forwarded (with status and
 * bytes) or refused (with the reason), so no request a client sends bypasses the log. The
 * connection's own decision stays a separate `ratls-handshake` event.
 * @example buildHttpRequestEvent({ method: 'GET', forwardedPath: '/v1/x', status: 200, identity: 'payments' }).event.reason // 'forwarded'
 */
export function buildHttpRequestEvent(input: HttpRequestAuditInput, now: () => Date = () => new Date()): AuditEvent {
  const ok = !input.refusal;
  const reason = ok ? 'forwarded' : cap(input.refusal?.reason ?? 'refused', 64);
  const ev: AuditEvent = {
    '@timestamp': (input.at ?? now()).toISOString(),
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'event',
      category: ['network', 'web'],
      type: [ok ? 'allowed' : 'denied'],
      action: 'ratls-http-request',
      reason,
      outcome: ok ? 'success' : 'failure',
    },
    message: '',
  };
  const src = endpoint(input.peer);
  if (src) ev.source = src;
  const method = input.method ? cap(input.method, 32) : undefined;
  ev.http = { request: { ...(method ? { method } : {}), bytes: count(input.requestBytes) } };
  const status = input.status;
  if (status !== undefined && Number.isInteger(status) && status >= 100 && status <= 999) {
    ev.http.response = { status_code: status, bytes: count(input.responseBytes) };
  }
  const url: NonNullable<AuditEvent['url']> = {};
  if (input.forwardedPath !== undefined) url.path = cap(input.forwardedPath, MAX_MESSAGE_CHARS);
  if (input.forwardedQuery) url.query = cap(input.forwardedQuery.replace(/^\?/, ''), MAX_MESSAGE_CHARS);
  if (input.target !== undefined) url.original = cap(input.target, MAX_MESSAGE_CHARS);
  if (Object.keys(url).length) ev.url = url;
  if (input.refusal) {
    ev.error = {
      code: cap(String(input.refusal.code)),
      message: cap(String(input.refusal.message), MAX_MESSAGE_CHARS),
    };
  }
  if (input.listener) ev.labels = { listener: cap(input.listener) };
  if (input.identity) ev.attestation = { identity: cap(input.identity) };
  const who = describePeer(src);
  const as = input.identity ? ` as ${cap(input.identity)}` : '';
  const what = `${method ?? '-'} ${url.path ?? url.original ?? '-'}`;
  ev.message = cap(
    ok
      ? `ratls-http-request ${who}${as}: ${what} → ${status ?? '-'}`
      : `ratls-http-request refused ${who}${as}: ${what}: ${reason}: ${input.refusal?.message ?? ''}`,
    MAX_MESSAGE_CHARS,
  );
  return ev;
}

export interface ConnectionCloseInput {
  listener?: string;
  /** The TLS client. */
  peer?: { ip?: string; port?: number };
  /** Our end of the connection (ECS destination). */
  local?: { ip?: string; port?: number };
  /** The policy identity the connection was accepted as. */
  identity?: string;
  /** Bytes received from the client and sent to it, on the TLS socket (application data). */
  bytesIn: number;
  bytesOut: number;
  /** From the accepted decision to the close, milliseconds. */
  durationMs: number;
  /** True when the gateway ended the connection (limit, drain); false when either peer closed it. */
  closedBy?: 'peer' | 'gateway';
  at?: Date;
}

/**
 * The audit event that ends an accepted connection: bytes in and out and duration (ECS
 * `source.bytes`, `destination.bytes`, `event.duration` in nanoseconds), so the log shows how
 * much each attested peer moved and for how long (HAProxy's and Envoy's per-connection log line).
 * @example buildConnectionCloseEvent({ listener: 'api', bytesIn: 120, bytesOut: 4096, durationMs: 35 }).event.action // 'ratls-connection-close'
 */
export function buildConnectionCloseEvent(input: ConnectionCloseInput, now: () => Date = () => new Date()): AuditEvent {
  const ms = Number.isFinite(input.durationMs) && input.durationMs >= 0 ? input.durationMs : 0;
  const ev: AuditEvent = {
    '@timestamp': (input.at ?? now()).toISOString(),
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'event',
      category: ['network'],
      type: ['end'],
      action: 'ratls-connection-close',
      reason: input.closedBy === 'gateway' ? 'closed_by_gateway' : 'closed',
      outcome: 'success',
      duration: Math.round(ms * 1e6),
    },
    message: '',
  };
  const src = endpoint(input.peer);
  const dst = endpoint(input.local);
  ev.source = { ...src, bytes: count(input.bytesIn) };
  ev.destination = { ...dst, bytes: count(input.bytesOut) };
  if (input.listener) ev.labels = { listener: cap(input.listener) };
  if (input.identity) ev.attestation = { identity: cap(input.identity) };
  const as = input.identity ? ` as ${cap(input.identity)}` : '';
  ev.message = cap(
    `ratls-connection-close ${describePeer(src)}${as}: ${count(input.bytesIn)} bytes in, ${count(input.bytesOut)} bytes out, ${Math.round(ms)} ms`,
    MAX_MESSAGE_CHARS,
  );
  return ev;
}

export interface EarlyTcbWarningInput {
  /** The policy identity the peer was accepted as. */
  identity: string;
  tee: 'sgx' | 'tdx';
  /** SHA-256 of the peer's quote, hex (the per-peer key of the warning). */
  quoteSha256: string;
  standardStatus: string;
  earlyStatus?: string;
  addedAdvisoryIds: string[];
  earlyError?: string;
  /** The standard set's tcbEvaluationDataNumber the peer was accepted under. */
  tcbEvaluationDataNumber?: number;
  listener?: string;
  at?: Date;
}

/**
 * The warning for an accepted peer that Intel's `update=early` TCB evaluation data would demote
 * or refuse (issue 17, "early warning"): written once per peer, never a decision (the handshake
 * event decided; `isDecision` readers skip it by its action).
 * @example buildEarlyTcbWarningEvent({ identity: 'payments', tee: 'sgx', quoteSha256, standardStatus: 'UpToDate', earlyStatus: 'OutOfDate', addedAdvisoryIds: [] }).event.action // 'ratls-early-tcb-warning'
 */
export function buildEarlyTcbWarningEvent(input: EarlyTcbWarningInput, now: () => Date = () => new Date()): AuditEvent {
  const attestation: AuditAttestation = {
    tee: input.tee,
    identity: cap(input.identity),
    quote_sha256: cap(input.quoteSha256),
    tcb_status: cap(input.standardStatus),
    early_advisory_ids: input.addedAdvisoryIds.slice(0, 32).map((a) => cap(a)),
  };
  if (input.earlyStatus !== undefined) attestation.early_tcb_status = cap(input.earlyStatus);
  if (input.earlyError !== undefined) attestation.early_error = cap(input.earlyError);
  if (input.tcbEvaluationDataNumber !== undefined)
    attestation.tcb_evaluation_data_number = input.tcbEvaluationDataNumber;
  const ev: AuditEvent = {
    '@timestamp': (input.at ?? now()).toISOString(),
    ecs: { version: ECS_VERSION },
    event: {
      kind: 'event',
      category: ['network'],
      type: ['info'],
      action: 'ratls-early-tcb-warning',
      reason: 'early_tcb_at_risk',
      outcome: 'success',
    },
    message: cap(
      `ratls-early-tcb-warning ${cap(input.identity)}: ${input.standardStatus} today, ${input.earlyStatus ?? `refused (${input.earlyError ?? 'unknown'})`} under Intel's early TCB evaluation data`,
      MAX_MESSAGE_CHARS,
    ),
    attestation,
  };
  if (input.listener) ev.labels = { listener: cap(input.listener) };
  return ev;
}
