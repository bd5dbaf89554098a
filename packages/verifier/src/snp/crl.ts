import { constants, verify as cryptoVerify, type KeyObject, type X509Certificate } from 'node:crypto';
import { AppraisalError, type CrlParts, crlRevokedSerials, parseCrlDer, RatlsError } from '@ratls/evidence';
import { iso } from './x509util.js';

/** AMD's CRLs list a handful of revoked ASKs/VCEKs; 256 KiB is generous. */
export const SNP_MAX_CRL = 256 * 1024;
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const STEP = 'snp-crl';

function serialHex(hex: string): string {
  const s = hex.toLowerCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

export interface SnpCrlFacts {
  thisUpdate: number;
  nextUpdate: number;
  /** Revoked serial numbers, lower-case hex without leading zeros. */
  revoked: Set<string>;
}

/**
 * Parses and verifies an AMD KDS CRL (`/vcek/v1/{product}/crl`): RSASSA-PSS SHA-384 (salt 48)
 * signature by the ARK over tbsCertList (RFC 5280 §5.1), and its thisUpdate/nextUpdate.
 * @example const facts = verifySnpCrl(crlDer, arkPublicKey)
 */
export function verifySnpCrl(der: Uint8Array, arkKey: KeyObject): SnpCrlFacts {
  if (!(der instanceof Uint8Array) || der.length === 0 || der.length > SNP_MAX_CRL) {
    throw new AppraisalError(
      'ERR_SNP_CRL_INVALID',
      STEP,
      `AMD CRL: ${der?.length ?? 0} bytes is out of bounds (1..${SNP_MAX_CRL})`,
    );
  }
  let crl: CrlParts;
  let facts: SnpCrlFacts;
  try {
    crl = parseCrlDer(der, SNP_MAX_CRL);
    if (crl.signatureAlgorithm !== RSASSA_PSS) {
      throw new AppraisalError(
        'ERR_SNP_CRL_SIGNATURE',
        STEP,
        `AMD CRL: signed with ${crl.signatureAlgorithm}, not RSASSA-PSS`,
      );
    }
    if (crl.nextUpdate === undefined)
      throw new AppraisalError('ERR_SNP_CRL_INVALID', STEP, 'AMD CRL: missing nextUpdate');
    const revoked = new Set(crlRevokedSerials(crl, 100_000).map((s) => serialHex(Buffer.from(s).toString('hex'))));
    facts = { thisUpdate: crl.thisUpdate, nextUpdate: crl.nextUpdate, revoked };
  } catch (e) {
    if (e instanceof AppraisalError) throw e;
    const why = e instanceof RatlsError ? `${e.message} (${e.code})` : 'malformed DER';
    throw new AppraisalError('ERR_SNP_CRL_INVALID', STEP, `AMD CRL: ${why}`, { cause: e });
  }
  let ok = false;
  try {
    ok = cryptoVerify(
      'sha384',
      crl.tbs,
      { key: arkKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
      crl.signature,
    );
  } catch (e) {
    throw new AppraisalError('ERR_SNP_CRL_SIGNATURE', STEP, 'AMD CRL: signature check failed', { cause: e });
  }
  if (!ok) throw new AppraisalError('ERR_SNP_CRL_SIGNATURE', STEP, 'AMD CRL: signature does not verify under the ARK');
  return facts;
}

/**
 * The CRL is current at `at` and revokes neither the intermediate (ASK/ASVK) nor the signing certificate.
 * @example checkSnpRevocation(crlDer, { ark, certs: [ask, vcek], at })
 */
export function checkSnpRevocation(
  crlDer: Uint8Array,
  o: { ark: X509Certificate; certs: X509Certificate[]; at: number },
): { thisUpdate: number; nextUpdate: number } {
  const f = verifySnpCrl(crlDer, o.ark.publicKey);
  if (o.at < f.thisUpdate || o.at > f.nextUpdate) {
    throw new AppraisalError(
      'ERR_SNP_CRL_EXPIRED',
      STEP,
      `AMD CRL: valid ${iso(f.thisUpdate)} to ${iso(f.nextUpdate)}, not at ${iso(o.at)}`,
    );
  }
  for (const c of o.certs) {
    if (f.revoked.has(serialHex(c.serialNumber))) {
      const cn = c.subject.split('\n').find((l) => l.startsWith('CN=')) ?? c.subject;
      throw new AppraisalError(
        'ERR_SNP_REVOKED',
        STEP,
        `AMD CRL: ${cn} (serial ${serialHex(c.serialNumber)}) is revoked`,
      );
    }
  }
  return { thisUpdate: f.thisUpdate, nextUpdate: f.nextUpdate };
}
