/**
 * TCP (or UNIX-socket) pass-through for one accepted, attested connection, optionally prefixed
 * with a PROXY protocol v2 header carrying the client address and the attestation facts, and
 * optionally over TLS to the backend (`forward.tcp` with `tls: { ca, servername }`), verified
 * strictly: no client byte is relayed before the backend's certificate has verified.
 */
import net from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { attestationOf, clientAddressOf, localAddressOf } from '@ratls/verifier';
import type { ForwardTarget } from '../config/config.js';
import { type BackendTlsMaterial, backendTlsOptions, isCertificateError } from './backend-tls.js';
import { peerFacts } from './facts.js';
import { encodeProxyV2 } from './proxy-protocol.js';

const BACKEND_WRITE_BUFFER = 256 * 1024;

export interface TcpForwardHooks {
  /** The backend could not be reached or failed mid-stream (both sides are closed). */
  onBackendError: (e: Error) => void;
  /** The backend's certificate did not verify; the caller closes the client (and audits it). */
  onBackendTlsRefused?: (e: Error) => void;
  /** Reads the backend TLS files (default: from disk, per connection, so a reload applies). */
  tlsMaterial?: (t: NonNullable<Extract<ForwardTarget, { kind: 'tcp' }>['tls']>) => BackendTlsMaterial;
}

/**
 * Pipes `client` to the backend both ways; either side failing closes both.
 * @example forwardTcp(socket, { kind: 'tcp', host: '127.0.0.1', port: 6379, proxyProtocol: false }, { onBackendError: log })
 */
export function forwardTcp(
  client: TLSSocket,
  target: Extract<ForwardTarget, { kind: 'tcp' | 'unix' }>,
  hooks: TcpForwardHooks,
): void {
  const facts = peerFacts(attestationOf(client));
  if (!facts) {
    client.destroy();
    return;
  }
  // A deeper write buffer than the 16 KiB default: TLS hands us 16 KiB records, and with equal sizes
  // every record toggles the client stream paused/flowing.
  const buffering = { writableHighWaterMark: BACKEND_WRITE_BUFFER };
  let backend: net.Socket;
  if (target.kind === 'tcp' && target.tls) {
    let opts: tls.ConnectionOptions;
    try {
      opts = backendTlsOptions(target.tls, hooks.tlsMaterial);
    } catch (e) {
      hooks.onBackendError(e as Error);
      client.destroy();
      return;
    }
    backend = tls.connect({ host: target.host, port: target.port, ...opts, ...buffering });
  } else {
    backend =
      target.kind === 'tcp'
        ? net.connect({ host: target.host, port: target.port, ...buffering })
        : net.connect({ path: target.path, ...buffering });
  }
  if (target.kind === 'tcp') backend.setNoDelay(true);
  if (target.proxyProtocol) {
    // Written before any client byte: net (and tls, until the handshake) queues writes.
    const from = clientAddressOf(client);
    const to = localAddressOf(client);
    backend.write(
      encodeProxyV2(
        {
          srcIp: from.ip,
          srcPort: from.port,
          dstIp: to.ip,
          dstPort: to.port,
        },
        facts,
        client.getProtocol() ?? undefined,
      ),
    );
  }
  const closeBoth = () => {
    client.destroy();
    backend.destroy();
  };
  backend.on('error', (e: NodeJS.ErrnoException) => {
    if (isCertificateError(e) && hooks.onBackendTlsRefused) hooks.onBackendTlsRefused(e);
    else hooks.onBackendError(e);
    closeBoth();
  });
  client.on('error', closeBoth);
  client.on('close', () => backend.destroy());
  backend.on('close', () => endOnce(client));
  const start = () => {
    pipeCoalesced(client, backend);
    backend.pipe(client);
  };
  // Over TLS the client's bytes wait for the backend's verified handshake.
  if (backend instanceof tls.TLSSocket) backend.once('secureConnect', start);
  else start();
}

/**
 * `from.pipe(to)`, except that the chunks `from` emits in one tick go out in one `writev`: a TLS
 * socket decrypts one 64 KiB TCP read into up to four 16 KiB records, each its own 'data' event,
 * and without corking each would be its own write system call to the backend (the bench's
 * profile: `writeBuffer` was the largest self time of a worker under bulk upload). Backpressure
 * and end are as `pipe` does them: pause above the backend's high-water mark, resume on
 * 'drain', end the backend when the client ends.
 */
function pipeCoalesced(from: TLSSocket, to: net.Socket): void {
  let corked = false;
  const uncork = () => {
    corked = false;
    to.uncork();
  };
  from.on('data', (chunk: Buffer) => {
    // The backend went away (its 'close' ends the client): what is still in flight has nowhere to go.
    if (to.destroyed) return;
    if (!corked) {
      corked = true;
      to.cork();
      process.nextTick(uncork);
    }
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.once('end', () => endOnce(to));
}

/**
 * Ends `s` unless it has already ended or been destroyed. Closing one side of the relay ends the
 * other from two places (`pipe`'s own end and the 'close' handler); a second `end()` on a finished
 * or destroyed socket builds an `ERR_STREAM_*` error with its stack trace only to drop it, which
 * the bench's profile showed at about 2 % of a gateway's handshake CPU.
 * @example backend.on('close', () => endOnce(client));
 */
export function endOnce(s: net.Socket): void {
  if (!s.destroyed && !s.writableEnded) s.end();
}
