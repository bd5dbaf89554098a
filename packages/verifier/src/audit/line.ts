/**
 * The JSON line of an audit event, serialized once per part that repeats. A handshake event's
 * `trace.attestation` is the whole attestation result (about two thirds of the line); with a
 * cached result every connection of the same peer carries the same result, so its recorded form
 * is built and serialized once (./trace.ts keeps it per result) and spliced into each line. The
 * line parses to exactly the event (`JSON.parse(auditLine(ev))` deep-equals `ev`); only the key
 * order may differ from `JSON.stringify(ev)` (the trace comes last), which JSON does not fix.
 */
import type { AuditEvent } from './event.js';

/** Pre-serialized JSON of frozen recorded attestations, keyed by the object itself. */
const serialized = new WeakMap<object, string>();

/**
 * Registers the JSON of a frozen object that audit events share, so their lines splice it in.
 * Only frozen objects are accepted: a later edit could otherwise make the line lie.
 * @example const att = Object.freeze({ v: 1, tee: 'sgx' }); shareSerialized(att); // ok
 */
export function shareSerialized(o: object): void {
  if (Object.isFrozen(o) && !serialized.has(o)) serialized.set(o, JSON.stringify(o));
}

/**
 * One audit line without its newline: `JSON.stringify(ev)` with a shared recorded attestation
 * spliced in from its cached JSON. JSON.stringify escapes control characters, so a
 * peer-influenced string can never split or forge a line, spliced or not.
 * @example auditLine(buildAuditEvent({ decision, result })) // '{"@timestamp":…,"trace":{…,"attestation":{…}}}'
 */
export function auditLine(ev: AuditEvent): string {
  const trace = ev.trace;
  const att = trace?.attestation;
  const json = att === undefined ? undefined : serialized.get(att);
  if (trace === undefined || json === undefined) return JSON.stringify(ev);
  const { trace: _t, ...rest } = ev;
  const { attestation: _a, ...head } = trace;
  // Both objects have members (`@timestamp`; `v`), so each ends in `}` after at least one member.
  const t = JSON.stringify(head);
  const r = JSON.stringify(rest);
  return `${r.slice(0, -1)},"trace":${t.slice(0, -1)},"attestation":${json}}}`;
}
