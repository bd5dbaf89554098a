/** AMD KDS answers from an offline bundle (docs/collateral.md, "Offline bundles"). */
import { readBundleManifest } from '../collateral/bundle.js';
import { AMD_KDS_URL, KdsCollateralSource } from './kds.js';

/**
 * AMD KDS answers (VCEKs, cert chains) from a bundle directory, never from the network.
 * @example await verifySnpReport(report, { at, kds: bundleKdsSource('bundle/'), product: 'Milan' })
 */
export function bundleKdsSource(dir: string): KdsCollateralSource {
  const m = readBundleManifest(dir);
  return new KdsCollateralSource(m.kdsUrl ?? AMD_KDS_URL, { cacheDir: dir, offline: true });
}
