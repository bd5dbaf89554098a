/**
 * Issuer-chain headers. PCS returns each signing chain (leaf first, then the Intel SGX Root CA)
 * as URL-encoded PEM in a response header (Intel PCS API v4: `TCB-Info-Issuer-Chain`,
 * `SGX-Enclave-Identity-Issuer-Chain`, `SGX-PCK-CRL-Issuer-Chain`).
 */
import { CollateralError, readPem } from '@ratls/evidence';

/** Intel chains are two certificates (~1.9 KiB of PEM); this leaves room without being unbounded. */
export const MAX_ISSUER_CHAIN_BYTES = 64 * 1024;
const MAX_CERTS = 8;

/**
 * URL-decodes an issuer-chain header to PEM (leaf first) and checks it holds only certificate blocks
 * (the strict PEM reader: exact armour, canonical base64, nothing else).
 * Already-decoded PEM passes through unchanged.
 * @example decodeIssuerChain(res.headers.get('TCB-Info-Issuer-Chain'), 'TCB info issuer chain')
 */
export function decodeIssuerChain(value: string | null | undefined, what: string): string {
  if (value === null || value === undefined || value.length === 0) {
    throw new CollateralError('ERR_COLLATERAL_MISSING', 'collateral', `${what}: missing`);
  }
  if (value.length > MAX_ISSUER_CHAIN_BYTES) {
    throw new CollateralError(
      'ERR_COLLATERAL_TOO_LARGE',
      'collateral',
      `${what}: ${value.length} bytes exceeds ${MAX_ISSUER_CHAIN_BYTES}`,
    );
  }
  let pem: string;
  try {
    pem = decodeURIComponent(value);
  } catch (e) {
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: bad URL encoding`, { cause: e });
  }
  try {
    readPem(pem, { label: 'CERTIFICATE', maxBlocks: MAX_CERTS, maxChars: MAX_ISSUER_CHAIN_BYTES });
  } catch (e) {
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `${what}: expected 1..${MAX_CERTS} PEM certificates and nothing else (${(e as Error).message})`,
      { cause: e },
    );
  }
  return pem;
}
