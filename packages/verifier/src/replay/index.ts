/** Policy replay: re-evaluating recorded attestation results against a candidate policy. */
export { type BoundedLine, boundedLines } from './read-lines.js';
export { parseRecordedAttestation } from './recorded-attestation.js';
export {
  MAX_REPLAY_LINE_BYTES,
  type ReplayChange,
  type ReplayChangeKind,
  type ReplayOptions,
  type ReplayOutcome,
  type ReplayProblem,
  type ReplayProblemCode,
  type ReplayReport,
  replayAudit,
} from './replay-audit.js';
