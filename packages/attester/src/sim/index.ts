/** @ratls/attester/sim: a simulated Intel TEE (SGX and TDX) mirroring Intel's DCAP hierarchy. */
export { initSimulation, loadSimulation, DEFAULT_COLLATERAL_DAYS, type SimState, type SimCa } from './state.js';
export { SimulatedQuoteProvider, type SimulatedQuoteOptions } from './provider.js';
export { revokePckSerial } from './revoke.js';
export { simulatedPckLeaf, type PckLeaf } from './pck-leaf.js';
export { buildCollateral, COLLATERAL_FILES, type SimCollateralJson } from './collateral.js';
export {
  FMSPC_SGX,
  FMSPC_TDX,
  SIM_QE,
  SIM_TCB_LEVELS,
  SIMULATION_MARKER,
  TCB_STATUSES,
  type SimTcbLevel,
  type TcbStatus,
} from './constants.js';
export {
  initSnpSimulation,
  loadSnpSimulation,
  SIM_SNP_TCB,
  type SimSnpProduct,
  type SimSnpState,
  type SimSnpTcb,
  SimulatedSnpProvider,
  type SimulatedSnpOptions,
} from './snp.js';
export {
  initNitroSimulation,
  loadNitroSimulation,
  type SimNitroState,
  SimulatedNitroProvider,
  type SimulatedNitroOptions,
} from './nitro.js';
