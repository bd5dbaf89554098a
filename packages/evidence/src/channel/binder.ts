/**
 * The channel binder of draft-fossati-seat-expat-04 §5.1: the attester's evidence commits to
 * `Hash(public_key || TLS-Exporter("EXPORTER-cmw-attestation", context, 32))`, where `context` is
 * the verifier's fresh nonce (the draft's certificate_request_context) and `Hash` is the hash of the
 * negotiated TLS 1.3 cipher suite (the HKDF hash), never a fixed SHA-256. `public_key` is the
 * SubjectPublicKeyInfo DER of the attester's TLS end-entity certificate, so the binder also carries
 * the draft's AIK_pub_hash requirement (§5.2): one hash over key and exporter.
 */
import { createHash } from 'node:crypto';
import { RatlsError } from '../errors.js';

/** Exporter label of draft-fossati-seat-expat-04 (earlier revisions used other labels). */
export const CHANNEL_EXPORTER_LABEL = 'EXPORTER-cmw-attestation';
/** Exporter output length, 256 bits (draft §5.1). */
export const CHANNEL_EXPORTER_BYTES = 32;
/** Bytes 48..63 of the 64-byte report data in channel mode: tells it apart from certificate-mode report data. */
export const CHANNEL_REPORT_DATA_TAG = 'ratls-channel-v1';
/** Report data (SGX/TDX REPORTDATA, SNP REPORT_DATA, Nitro user_data) is 64 bytes. */
export const CHANNEL_REPORT_DATA_BYTES = 64;
const TAG_OFFSET = 48;

/** Hash functions of the TLS 1.3 cipher suites (RFC 8446 §B.4). */
export type ChannelHash = 'sha256' | 'sha384';

const SUITE_HASH: Record<string, ChannelHash> = {
  TLS_AES_128_GCM_SHA256: 'sha256',
  TLS_AES_256_GCM_SHA384: 'sha384',
  TLS_CHACHA20_POLY1305_SHA256: 'sha256',
  TLS_AES_128_CCM_SHA256: 'sha256',
  TLS_AES_128_CCM_8_SHA256: 'sha256',
};

/**
 * The hash of a TLS 1.3 cipher suite, by its IANA name (Node's `getCipher().standardName`).
 * @example suiteHash('TLS_AES_256_GCM_SHA384') === 'sha384'
 */
export function suiteHash(standardName: string): ChannelHash {
  const h = Object.hasOwn(SUITE_HASH, standardName) ? SUITE_HASH[standardName] : undefined;
  if (!h) {
    throw new RatlsError(
      'ERR_CHANNEL_UNSUPPORTED',
      'channel',
      `channel binding: cipher suite ${JSON.stringify(standardName.slice(0, 64))} is not a TLS 1.3 suite`,
    );
  }
  return h;
}

/**
 * `Hash(spki || exported)` with the suite's hash (draft-fossati-seat-expat-04 §5.1).
 * @example const b = channelBinder('sha384', spkiDer, socket.exportKeyingMaterial(32, CHANNEL_EXPORTER_LABEL, nonce))
 */
export function channelBinder(hash: ChannelHash, publicKeySpki: Uint8Array, exported: Uint8Array): Uint8Array {
  if (exported.byteLength !== CHANNEL_EXPORTER_BYTES) {
    throw new RatlsError(
      'ERR_CHANNEL_UNSUPPORTED',
      'channel',
      `channel binding: exporter value is ${exported.byteLength} bytes, expected ${CHANNEL_EXPORTER_BYTES}`,
    );
  }
  return new Uint8Array(createHash(hash).update(publicKeySpki).update(exported).digest());
}

/**
 * The 64 report-data bytes of channel-mode evidence: the binder (32 or 48 bytes) at offset 0,
 * zeros up to 48, then the ASCII tag `ratls-channel-v1`. The tag keeps a channel quote from ever
 * being read as certificate-mode report data (SHA-256 of DICE claims, zero-padded) and vice versa.
 * @example const rd = channelReportData(binder) // provider.getEvidence(rd)
 */
export function channelReportData(binder: Uint8Array): Uint8Array {
  if (binder.byteLength !== 32 && binder.byteLength !== 48) {
    throw new RatlsError(
      'ERR_CHANNEL_UNSUPPORTED',
      'channel',
      `channel binding: binder is ${binder.byteLength} bytes, expected 32 or 48`,
    );
  }
  const out = new Uint8Array(CHANNEL_REPORT_DATA_BYTES);
  out.set(binder, 0);
  out.set(new TextEncoder().encode(CHANNEL_REPORT_DATA_TAG), TAG_OFFSET);
  return out;
}
