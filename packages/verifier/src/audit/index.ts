/** Audit: one ECS-style JSON event per decision and per policy reload. */
export {
  type AuditAttestation,
  type AuditEvent,
  type AuditInput,
  type AuditPeer,
  buildAuditEvent,
  buildConnectionCloseEvent,
  buildEarlyTcbWarningEvent,
  buildHttpRequestEvent,
  buildPolicyReloadEvent,
  type ConnectionCloseInput,
  type EarlyTcbWarningInput,
  ECS_VERSION,
  type HttpRequestAuditInput,
  MAX_MESSAGE_CHARS,
  type PolicyReloadInput,
} from './event.js';
export { type AuditLog, type AuditSink, auditPolicyReloads, createAuditLog } from './log.js';
export {
  buildDecisionTrace,
  type DecisionTrace,
  TRACE_VERSION,
  type TraceAttestation,
  type TraceCollateral,
  type TraceDecidedBy,
  type TraceStep,
} from './trace.js';
