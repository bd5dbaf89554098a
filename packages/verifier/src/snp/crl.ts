import { constants, verify as cryptoVerify, type KeyObject, type X509Certificate } from 'node:crypto';
import { AppraisalError, type DerTlv, derChildren, derOidText, derReadTlv, RatlsError } from '@ratls/evidence';
import { iso } from './x509util.js';

/** AMD's CRLs list a handful of revoked ASKs/VCEKs; 256 KiB is generous. */
export const SNP_MAX_CRL = 256 * 1024;
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const STEP = 'snp-crl';

function fail(code: string, msg: string, cause?: unknown): AppraisalError {
  return new AppraisalError(code, STEP, `AMD CRL: ${msg}`, cause === undefined ? undefined : { cause });
}

/** UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1: YY < 50 is 20YY) or GeneralizedTime → unix seconds. */
function derTime(b: Uint8Array, t: DerTlv): number {
  const s = Buffer.from(b.subarray(t.start, t.end)).toString('latin1');
  const m =
    t.tag === 0x17
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : t.tag === 0x18
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
        : null;
  if (!m) throw fail('ERR_SNP_CRL_INVALID', `unreadable time "${s.slice(0, 20)}"`);
  let year = Number(m[1]);
  if (t.tag === 0x17) year += year < 50 ? 2000 : 1900;
  const ms = Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Math.floor(ms / 1000);
}

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
    throw fail('ERR_SNP_CRL_INVALID', `${der?.length ?? 0} bytes is out of bounds (1..${SNP_MAX_CRL})`);
  }
  let tbs: DerTlv;
  let sig: Uint8Array;
  let facts: SnpCrlFacts;
  try {
    const outer = derReadTlv(der, 0, der.length, 'CRL');
    if (outer.tag !== 0x30 || outer.end !== der.length) throw fail('ERR_SNP_CRL_INVALID', 'not a single SEQUENCE');
    const [t, alg, bits] = derChildren(der, outer, 'CRL', 3);
    if (!t || !alg || !bits || t.tag !== 0x30 || alg.tag !== 0x30 || bits.tag !== 0x03) {
      throw fail('ERR_SNP_CRL_INVALID', 'not a CertificateList');
    }
    const algOid = derOidText(der, derChildren(der, alg, 'CRL', 2)[0] as DerTlv, 'CRL');
    if (algOid !== RSASSA_PSS) throw fail('ERR_SNP_CRL_SIGNATURE', `signed with ${algOid}, not RSASSA-PSS`);
    if (bits.end - bits.start < 2 || der[bits.start] !== 0)
      throw fail('ERR_SNP_CRL_INVALID', 'bad signature BIT STRING');
    tbs = t;
    sig = der.subarray(bits.start + 1, bits.end);
    const parts = derChildren(der, t, 'CRL tbsCertList', 8);
    let i = parts[0]?.tag === 0x02 ? 1 : 0; // optional version
    i += 2; // signature AlgorithmIdentifier, issuer Name
    const thisT = parts[i];
    const nextT = parts[i + 1];
    if (!thisT || !nextT || (nextT.tag !== 0x17 && nextT.tag !== 0x18)) {
      throw fail('ERR_SNP_CRL_INVALID', 'missing thisUpdate/nextUpdate');
    }
    const revoked = new Set<string>();
    const list = parts[i + 2];
    if (list && list.tag === 0x30) {
      for (const entry of derChildren(der, list, 'CRL entries', 100_000)) {
        const serial = derChildren(der, entry, 'CRL entry', 3)[0];
        if (serial?.tag !== 0x02 || serial.end - serial.start > 32)
          throw fail('ERR_SNP_CRL_INVALID', 'bad entry serial');
        revoked.add(serialHex(Buffer.from(der.subarray(serial.start, serial.end)).toString('hex')));
      }
    }
    facts = { thisUpdate: derTime(der, thisT), nextUpdate: derTime(der, nextT), revoked };
  } catch (e) {
    if (e instanceof AppraisalError) throw e;
    throw fail('ERR_SNP_CRL_INVALID', e instanceof RatlsError ? e.message : 'malformed DER', e);
  }
  let ok = false;
  try {
    ok = cryptoVerify(
      'sha384',
      der.subarray(tbs.off, tbs.end),
      { key: arkKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 48 },
      sig,
    );
  } catch (e) {
    throw fail('ERR_SNP_CRL_SIGNATURE', 'signature check failed', e);
  }
  if (!ok) throw fail('ERR_SNP_CRL_SIGNATURE', 'signature does not verify under the ARK');
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
    throw fail('ERR_SNP_CRL_EXPIRED', `valid ${iso(f.thisUpdate)} to ${iso(f.nextUpdate)}, not at ${iso(o.at)}`);
  }
  for (const c of o.certs) {
    if (f.revoked.has(serialHex(c.serialNumber))) {
      const cn = c.subject.split('\n').find((l) => l.startsWith('CN=')) ?? c.subject;
      throw fail('ERR_SNP_REVOKED', `${cn} (serial ${serialHex(c.serialNumber)}) is revoked`);
    }
  }
  return { thisUpdate: f.thisUpdate, nextUpdate: f.nextUpdate };
}
