/** Policy: YAML identities, validation with located errors, evaluation, atomic reload. */
export { decisionSummary, evaluatePolicy } from './evaluate.js';
export { formatIssue, loadPolicyFile, MAX_POLICY_BYTES, PolicyValidationError, parsePolicy } from './parse.js';
export {
  type PolicyReloadedEvent,
  type PolicyReloadFailedEvent,
  PolicyStore,
  type PolicyStoreEvents,
  type ReloadOutcome,
} from './store.js';
export { closestName, knownKeysAt, unknownKeyMessage } from './suggest.js';
export {
  type AdvisoryRule,
  type Decision,
  type DecisionTcb,
  GRACE_WAIVER,
  type IdentityTee,
  type MaskedHex,
  type NitroIdentity,
  type Policy,
  type PolicyDefaults,
  type PolicyIdentity,
  type PolicyIssue,
  REASON_CODES,
  type Reason,
  type ReasonCode,
  type SgxIdentity,
  SNP_POLICY_BITS,
  type SnpIdentity,
  type SnpPolicyBit,
  TD_ATTRIBUTE_BITS,
  type TdAttributeBit,
  type TdxIdentity,
  type Waiver,
} from './types.js';
