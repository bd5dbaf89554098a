/**
 * CRL normalization for collateral sources: PCS/PCCS hand out CRLs as DER (`encoding=der`), PEM
 * (the PCS default) or hex text (PCCS `rootcacrl`, QuoteCollateralV3 JSON). Everything becomes
 * DER bytes, and we read `nextUpdate` (RFC 5280 §5.1.2.5) so the cache knows when the CRL stops
 * being usable. Parsing is the one ASN.1 stack (`parseCrlDer`, `readPemOne`). No signature is
 * checked here: the appraiser does.
 */
import { CollateralError, type CrlParts, parseCrlDer, RatlsError, readPemOne } from '@ratls/evidence';

/** Largest CRL accepted. Intel's PCK Platform CA CRL is ~3 KiB today; leave room to grow. */
export const MAX_CRL_BYTES = 2 * 1024 * 1024;

const HEX_RE = /^(?:0x)?[0-9a-fA-F]+$/;

/**
 * Reads `thisUpdate` and `nextUpdate` (ms since epoch) from a DER CRL and checks that the outer
 * structure spans the whole input.
 * @example const { nextUpdate } = crlTimes(der, 'PCK CRL')
 */
export function crlTimes(der: Uint8Array, what = 'CRL'): { thisUpdate: number; nextUpdate: number } {
  let crl: CrlParts;
  try {
    crl = parseCrlDer(der, MAX_CRL_BYTES);
  } catch (e) {
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `${what}: ${e instanceof RatlsError ? `${e.message} (${e.code})` : 'not a DER CRL'}`,
      { cause: e },
    );
  }
  if (crl.nextUpdate === undefined)
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `${what}: nextUpdate missing (Intel CRLs always carry one)`,
    );
  return { thisUpdate: crl.thisUpdate * 1000, nextUpdate: crl.nextUpdate * 1000 };
}

/**
 * DER, PEM or hex text → DER bytes, checked to be one well-formed CRL with a nextUpdate.
 * @example normalizeCrl(await res.arrayBuffer(), 'PCK CRL')
 */
export function normalizeCrl(input: Uint8Array | string, what = 'CRL'): Uint8Array {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size === 0) throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: empty`);
  if (size > MAX_CRL_BYTES * 2 + 1024) {
    throw new CollateralError('ERR_COLLATERAL_TOO_LARGE', 'collateral', `${what}: ${size} bytes exceeds the limit`);
  }
  let der: Uint8Array;
  if (typeof input !== 'string' && input[0] === 0x30) {
    der = input;
  } else {
    const text = (typeof input === 'string' ? input : Buffer.from(input).toString('latin1')).trim();
    if (text.startsWith('-----')) {
      try {
        der = readPemOne(text, 'X509 CRL', MAX_CRL_BYTES * 2);
      } catch (e) {
        throw new CollateralError(
          'ERR_COLLATERAL_MALFORMED',
          'collateral',
          `${what}: ${e instanceof RatlsError ? `${e.message} (${e.code})` : 'bad PEM'}`,
          { cause: e },
        );
      }
    } else if (HEX_RE.test(text) && text.length % 2 === 0)
      der = new Uint8Array(Buffer.from(text.replace(/^0x/, ''), 'hex'));
    else
      throw new CollateralError(
        'ERR_COLLATERAL_MALFORMED',
        'collateral',
        `${what}: neither DER, PEM ("-----BEGIN X509 CRL-----") nor hex`,
      );
  }
  if (der.length > MAX_CRL_BYTES) {
    throw new CollateralError(
      'ERR_COLLATERAL_TOO_LARGE',
      'collateral',
      `${what}: ${der.length} bytes exceeds ${MAX_CRL_BYTES}`,
    );
  }
  crlTimes(der, what);
  return der;
}
