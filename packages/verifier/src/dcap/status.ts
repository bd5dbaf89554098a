/**
 * Merging the platform, TDX module and QE statuses as Intel QVL does
 * (`convergeTcbStatusWithTdxModuleStatus`, `convergeTcbStatusWithQeTcbStatus`): an OutOfDate
 * module or QE turns UpToDate/SWHardeningNeeded into OutOfDate and the Configuration* statuses
 * into OutOfDateConfigurationNeeded; Revoked anywhere is Revoked.
 */
import type { TcbStatus } from '../result.js';

/** Merges a platform status with an OutOfDate/Revoked component (module or QE) status. */
export function convergeStatus(platform: TcbStatus, component: TcbStatus): TcbStatus {
  if (component === 'OutOfDate' || component === 'OutOfDateConfigurationNeeded') {
    if (platform === 'UpToDate' || platform === 'SWHardeningNeeded') return 'OutOfDate';
    if (platform === 'ConfigurationNeeded' || platform === 'ConfigurationAndSWHardeningNeeded') {
      return 'OutOfDateConfigurationNeeded';
    }
  }
  if (component === 'Revoked') return 'Revoked';
  return platform;
}

/** The merged status: platform, then TDX module (when present), then QE. */
export function mergeTcbStatus(platform: TcbStatus, qe: TcbStatus, tdxModule?: TcbStatus): TcbStatus {
  const withModule = tdxModule ? convergeStatus(platform, tdxModule) : platform;
  return convergeStatus(withModule, qe);
}
