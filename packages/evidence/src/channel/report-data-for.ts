/**
 * The report data one side of a TLS 1.3 connection computes for a nonce: both the attester (over
 * its own certificate key) and the verifier (over the peer's) call this, so the two can only agree
 * on the same connection, the same key and the same nonce.
 */
import { RatlsError } from '../errors.js';
import type { ChannelSocket } from './attester.js';
import {
  CHANNEL_EXPORTER_BYTES,
  CHANNEL_EXPORTER_LABEL,
  channelBinder,
  channelReportData,
  suiteHash,
} from './binder.js';
import { CHANNEL_NONCE_BYTES } from './frame.js';

/**
 * The 64 report-data bytes this socket's evidence must carry for `nonce`: the suite hash over our
 * certificate's SubjectPublicKeyInfo and the exporter value, in the ratls channel layout. (A verifier
 * passes the peer key it read at handshake time: Node's client drops the peer certificate from the
 * socket once a session ticket arrives.)
 * @example const rd = channelReportDataFor(tlsSocket, nonce) // the verifier: (socket, nonce, peerSpkiDer)
 */
export function channelReportDataFor(
  socket: ChannelSocket,
  nonce: Uint8Array,
  /** The attester's SubjectPublicKeyInfo DER: omit for our own certificate; the verifier passes the peer's. */
  publicKeySpki?: Uint8Array,
): Uint8Array {
  if (socket.getProtocol() !== 'TLSv1.3') {
    throw new RatlsError(
      'ERR_CHANNEL_TLS_VERSION',
      'channel',
      `channel binding needs TLS 1.3; this connection is ${socket.getProtocol() ?? 'not established'}`,
    );
  }
  if (nonce.byteLength !== CHANNEL_NONCE_BYTES) {
    throw new RatlsError('ERR_CHANNEL_FRAME_INVALID', 'channel', `channel nonce must be ${CHANNEL_NONCE_BYTES} bytes`);
  }
  const cipher = socket.getCipher();
  const hash = suiteHash(cipher.standardName ?? cipher.name);
  let spki = publicKeySpki;
  if (!spki) {
    const cert = socket.getX509Certificate();
    if (!cert) {
      throw new RatlsError(
        'ERR_CHANNEL_UNSUPPORTED',
        'channel',
        'channel binding: no local certificate on this connection',
      );
    }
    spki = new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));
  }
  const exported = new Uint8Array(
    socket.exportKeyingMaterial(CHANNEL_EXPORTER_BYTES, CHANNEL_EXPORTER_LABEL, Buffer.from(nonce)),
  );
  return channelReportData(channelBinder(hash, spki, exported));
}
