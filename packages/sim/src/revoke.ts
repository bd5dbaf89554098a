/** Revocation in the simulated hierarchy, for negative tests: put a PCK serial on the PCK CRL. */
import { ConfigError } from '@ratls/evidence';
import { writeCollateral } from './collateral.js';
import { type SimState, saveState } from './state.js';

/**
 * Adds `serialHex` to the PCK CRL, re-issues it (CRL number + 1) and rewrites both collateral
 * files. Mutates and persists `state`.
 * @example await revokePckSerial(sim, (await simulatedPckLeaf(sim, 'sgx', 'UpToDate')).serial)
 */
export async function revokePckSerial(state: SimState, serialHex: string): Promise<void> {
  let serial = serialHex.trim().toLowerCase();
  if (serial.startsWith('0x')) serial = serial.slice(2);
  if (!/^[0-9a-f]{1,40}$/.test(serial)) {
    throw new ConfigError(
      'ERR_SIM_CONFIG',
      'sim',
      `revokePckSerial: "${serialHex}" is not a hex serial number (1-20 bytes)`,
    );
  }
  if (serial.length % 2 === 1) serial = `0${serial}`;
  if (!state.revokedPckSerials.includes(serial)) state.revokedPckSerials.push(serial);
  state.crlNumber += 1;
  await saveState(state);
  await writeCollateral(state);
}
