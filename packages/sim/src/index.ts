/** @ratls/sim: a simulated Intel TEE (SGX and TDX) mirroring Intel's DCAP hierarchy. */

export {
  buildCollateral,
  buildTcbEvaluationDataNumbers,
  COLLATERAL_FILES,
  type SimCollateralJson,
  type SimTcbEvaluationDataNumbers,
} from './collateral.js';
export {
  FMSPC_SGX,
  FMSPC_TDX,
  SIM_QE,
  SIM_TCB_LEVELS,
  SIMULATION_MARKER,
  type SimTcbLevel,
  TCB_STATUSES,
  type TcbStatus,
} from './constants.js';
export {
  initNitroSimulation,
  loadNitroSimulation,
  type SimNitroState,
  type SimulatedNitroOptions,
  SimulatedNitroProvider,
} from './nitro.js';
export { type PckLeaf, simulatedPckLeaf } from './pck-leaf.js';
export { type SimulatedQuoteOptions, SimulatedQuoteProvider } from './provider.js';
export { revokePckSerial } from './revoke.js';
export {
  initSnpSimulation,
  loadSnpSimulation,
  SIM_SNP_TCB,
  type SimSnpProduct,
  type SimSnpState,
  type SimSnpTcb,
  type SimulatedSnpOptions,
  SimulatedSnpProvider,
} from './snp.js';
export { DEFAULT_COLLATERAL_DAYS, initSimulation, loadSimulation, type SimCa, type SimState } from './state.js';
