/**
 * The mark of the ratls simulator. `@ratls/sim` writes it as the O of every certificate it issues;
 * the verifier recognises a simulated root by it and reports `simulated: true` on every result that
 * root verifies. Defined once here, the package both sides already share.
 */

/**
 * Organization name the simulator puts in every certificate it issues.
 * @example cert.subject.includes(SIMULATION_MARKER) // true only for a simulated hierarchy
 */
export const SIMULATION_MARKER = 'ratls SIMULATED TEE - NOT FOR PRODUCTION';
