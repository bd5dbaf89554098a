/**
 * DICE endorsements (extension 2.23.133.5.4.2): the collateral for the quote, carried in the
 * certificate. CCC "SGX / TDX Endorsement Data Format": the evidence's CBOR tag around a
 * definite array of 8 or 9 entries, in Open Enclave's `oe_sgx_endorsements_fields_t` order:
 * version (uint), TCB info (PCS JSON body), TCB info issuer chain (PEM), PCK CRL, Root CA CRL
 * (OE calls it CRL_PCK_PROC_CA), PCK CRL issuer chain (PEM), QE identity (PCS JSON body), QE
 * identity issuer chain (PEM), optional creation time (ISO 8601). OE writes each string with its
 * NUL terminator; one trailing NUL is removed here.
 */
import { concatBytes } from '../bytes.js';
import { EvidenceParseError, RatlsError } from '../errors.js';
import { encodeBstr, encodeHead, MT_ARRAY, MT_TAG, MT_UINT, readBstr, readHead } from './cbor-lite.js';
import { DICE_TAG_INTEL_QUOTE, DICE_TAG_TDX, type DiceTag, MAX_RATLS_CERT_BYTES } from './oids.js';

export interface DiceEndorsements {
  tag: DiceTag;
  version: number;
  tcbInfo: Uint8Array;
  tcbInfoIssuerChain: Uint8Array;
  pckCrl: Uint8Array;
  rootCaCrl: Uint8Array;
  pckCrlIssuerChain: Uint8Array;
  qeIdentity: Uint8Array;
  qeIdentityIssuerChain: Uint8Array;
  creationDatetime?: Uint8Array;
}

const FIELDS = [
  'tcbInfo',
  'tcbInfoIssuerChain',
  'pckCrl',
  'rootCaCrl',
  'pckCrlIssuerChain',
  'qeIdentity',
  'qeIdentityIssuerChain',
] as const;

function stripNul(b: Uint8Array): Uint8Array {
  return b.length > 0 && b[b.length - 1] === 0 ? b.subarray(0, b.length - 1) : b;
}

/**
 * Parses a 2.23.133.5.4.2 extension value.
 * @example const e = decodeDiceEndorsements(parts.endorsements)
 */
export function decodeDiceEndorsements(bytes: Uint8Array): DiceEndorsements {
  if (bytes.length > MAX_RATLS_CERT_BYTES)
    throw new EvidenceParseError(
      'ERR_DICE_ENDORSEMENTS_INVALID',
      'extract',
      `DICE endorsements (2.23.133.5.4.2): ${bytes.length} bytes exceeds ${MAX_RATLS_CERT_BYTES}`,
    );
  try {
    const what = 'DICE endorsements';
    const t = readHead(bytes, 0, what);
    if (t.major !== MT_TAG || (t.arg !== DICE_TAG_INTEL_QUOTE && t.arg !== DICE_TAG_TDX))
      throw new EvidenceParseError(
        'ERR_DICE_ENDORSEMENTS_INVALID',
        'extract',
        'DICE endorsements (2.23.133.5.4.2): not CBOR tag 60000 or 60001',
      );
    const arr = readHead(bytes, t.next, what);
    if (arr.major !== MT_ARRAY || (arr.arg !== 8 && arr.arg !== 9))
      throw new EvidenceParseError(
        'ERR_DICE_ENDORSEMENTS_INVALID',
        'extract',
        'DICE endorsements (2.23.133.5.4.2): tag content is not an array of 8 or 9 entries',
      );
    const version = readHead(bytes, arr.next, what);
    if (version.major !== MT_UINT)
      throw new EvidenceParseError(
        'ERR_DICE_ENDORSEMENTS_INVALID',
        'extract',
        'DICE endorsements (2.23.133.5.4.2): version is not an unsigned integer',
      );
    let pos = version.next;
    const out: Partial<Record<(typeof FIELDS)[number], Uint8Array>> = {};
    for (const name of FIELDS) {
      const f = readBstr(bytes, pos, what);
      const v = stripNul(f.value);
      if (v.length === 0)
        throw new EvidenceParseError(
          'ERR_DICE_ENDORSEMENTS_INVALID',
          'extract',
          `DICE endorsements (2.23.133.5.4.2): ${name} is empty`,
        );
      out[name] = v;
      pos = f.next;
    }
    let creationDatetime: Uint8Array | undefined;
    if (arr.arg === 9) {
      const f = readBstr(bytes, pos, what);
      creationDatetime = stripNul(f.value);
      pos = f.next;
    }
    if (pos !== bytes.length)
      throw new EvidenceParseError(
        'ERR_DICE_ENDORSEMENTS_INVALID',
        'extract',
        `DICE endorsements (2.23.133.5.4.2): ${bytes.length - pos} trailing bytes`,
      );
    const e: DiceEndorsements = {
      tag: t.arg as DiceTag,
      version: version.arg,
      ...(out as Record<(typeof FIELDS)[number], Uint8Array>),
    };
    return creationDatetime ? { ...e, creationDatetime } : e;
  } catch (e) {
    if (e instanceof RatlsError && e.code !== 'ERR_CBOR_INVALID') throw e;
    throw new EvidenceParseError(
      'ERR_DICE_ENDORSEMENTS_INVALID',
      'extract',
      `DICE endorsements (2.23.133.5.4.2): ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}

/**
 * Encodes endorsements as OE and the CCC spec lay them out (strings NUL-terminated).
 * @example encodeDiceEndorsements({ tag: 60000, version: 1, tcbInfo, … })
 */
export function encodeDiceEndorsements(e: DiceEndorsements): Uint8Array {
  const nul = (b: Uint8Array): Uint8Array => encodeBstr(concatBytes(b, Uint8Array.of(0)));
  const parts = [
    encodeHead(MT_TAG, e.tag),
    encodeHead(MT_ARRAY, e.creationDatetime ? 9 : 8),
    encodeHead(MT_UINT, e.version),
  ];
  for (const name of FIELDS) parts.push(nul(e[name]));
  if (e.creationDatetime) parts.push(nul(e.creationDatetime));
  return concatBytes(...parts);
}
