/**
 * SGX SIGSTRUCT (Intel SDM Vol. 3D, "Enclave Signature Structure (SIGSTRUCT)"): the 1808-byte file
 * Gramine writes as `<app>.sig` and `sgx_sign dump -cssfile` writes out. Pure: bytes in, the
 * reference values an enclave built from it will report, or a typed error.
 *
 * What the enclave reports follows from the fields: MRENCLAVE = ENCLAVEHASH; MRSIGNER = SHA-256
 * of the 384-byte MODULUS exactly as stored (little-endian, SDM "EINIT"), not of the key's usual
 * big-endian form; ISVPRODID and ISVSVN as signed; ATTRIBUTES are enforced under ATTRIBUTEMASK
 * only, so the identity matches attributes under that mask and XFRM bits outside it do not break it.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { RatlsError } from '@ratls/evidence';

export const SIGSTRUCT_BYTES = 1808;

// Offsets (SDM table "Layout of Enclave Signature Structure").
const HEADER = { at: 0, len: 16 };
const HEADER2 = { at: 24, len: 16 };
const MODULUS = { at: 128, len: 384 };
const EXPONENT = 512;
const SIGNATURE = { at: 516, len: 384 };
const MISCSELECT = 900;
const MISCMASK = 904;
const ATTRIBUTES = { at: 928, len: 16 };
const ATTRIBUTEMASK = { at: 944, len: 16 };
const ENCLAVEHASH = { at: 960, len: 32 };
const ISVPRODID = 1024;
const ISVSVN = 1026;
/** The signed bytes are HEADER..VENDOR..HEADER2..SWDEFINED..RESERVED (0..128) ‖ the body (900..1028). */
const SIGNED_HEAD = { at: 0, len: 128 };
const SIGNED_BODY = { at: 900, len: 128 };

const HEADER_VALUE = Buffer.from('06000000e10000000000010000000000', 'hex');
const HEADER2_VALUE = Buffer.from('01010000600000006000000001000000', 'hex');

export interface Sigstruct {
  mrEnclave: string;
  mrSigner: string;
  isvProdId: number;
  isvSvn: number;
  miscSelect: number;
  miscMask: number;
  /** 16 bytes (FLAGS ‖ XFRM, little-endian as in the report), hex. */
  attributes: string;
  attributeMask: string;
  /** BCD yyyymmdd as signed. */
  date: string;
}

const malformed = (why: string) => new RatlsError('ERR_SIGSTRUCT_MALFORMED', 'artifact', `SIGSTRUCT: ${why}`);

function slice(b: Uint8Array, f: { at: number; len: number }): Buffer {
  return Buffer.from(b.buffer, b.byteOffset + f.at, f.len);
}

/** Little-endian bytes → base64url of the big-endian integer (JWK form). */
function leToB64u(le: Buffer): string {
  return Buffer.from(le).reverse().toString('base64url');
}

/**
 * Parses a SIGSTRUCT and checks its RSA-3072 signature (PKCS#1 v1.5, SHA-256, exponent 3) under
 * its own modulus, so a hand-edited ENCLAVEHASH cannot pass as signed.
 * Codes: ERR_SIGSTRUCT_MALFORMED, ERR_SIGSTRUCT_SIGNATURE.
 *
 * @example const s = parseSigstruct(readFileSync('app.sig')); console.log(s.mrEnclave, s.mrSigner)
 */
export function parseSigstruct(bytes: Uint8Array): Sigstruct {
  if (bytes.length !== SIGSTRUCT_BYTES) throw malformed(`expected ${SIGSTRUCT_BYTES} bytes, got ${bytes.length}`);
  if (!slice(bytes, HEADER).equals(HEADER_VALUE)) throw malformed('HEADER is not 06000000E1000000 00000100 00000000');
  if (!slice(bytes, HEADER2).equals(HEADER2_VALUE))
    throw malformed('HEADER2 is not 01010000 60000000 60000000 01000000');
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(EXPONENT, true) !== 3)
    throw malformed(`EXPONENT is ${dv.getUint32(EXPONENT, true)}, SGX requires 3`);
  const modulus = slice(bytes, MODULUS);
  const signature = slice(bytes, SIGNATURE);
  let key: ReturnType<typeof createPublicKey>;
  try {
    key = createPublicKey({ key: { kty: 'RSA', n: leToB64u(modulus), e: 'Aw' }, format: 'jwk' });
  } catch (e) {
    throw malformed(`MODULUS is not an RSA modulus: ${(e as Error).message}`);
  }
  const signed = Buffer.concat([slice(bytes, SIGNED_HEAD), slice(bytes, SIGNED_BODY)]);
  if (!verify('sha256', signed, key, Buffer.from(signature).reverse())) {
    throw new RatlsError(
      'ERR_SIGSTRUCT_SIGNATURE',
      'artifact',
      'SIGSTRUCT: the RSA signature does not verify under its MODULUS (the file was changed after signing)',
    );
  }
  const attributes = slice(bytes, ATTRIBUTES);
  const attributeMask = slice(bytes, ATTRIBUTEMASK);
  return {
    mrEnclave: slice(bytes, ENCLAVEHASH).toString('hex'),
    mrSigner: createHash('sha256').update(modulus).digest('hex'),
    isvProdId: dv.getUint16(ISVPRODID, true),
    isvSvn: dv.getUint16(ISVSVN, true),
    miscSelect: dv.getUint32(MISCSELECT, true),
    miscMask: dv.getUint32(MISCMASK, true),
    attributes: attributes.toString('hex'),
    attributeMask: attributeMask.toString('hex'),
    date: dv.getUint32(20, true).toString(16).padStart(8, '0'),
  };
}

/** True when the bytes look like a SIGSTRUCT (size and HEADER), for format detection. */
export function isSigstruct(bytes: Uint8Array): boolean {
  return bytes.length === SIGSTRUCT_BYTES && slice(bytes, HEADER).equals(HEADER_VALUE);
}
