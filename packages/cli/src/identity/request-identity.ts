/**
 * The attester's side of the gateway identity endpoint (issue 15, docs/identities.md): open
 * attested TLS to the gateway with the enclave's own RA-TLS credentials, judge the gateway, answer
 * its channel challenge with fresh evidence bound to this connection, then ask for a certificate
 * for this very key (a PKCS#10 CSR signed by it) or for an EAR token.
 *
 * It lives in `ratls` rather than @ratls/verifier or @ratls/attester: building the CSR needs the
 * attester's X.509 stack, attested TLS needs the verifier's `connect`, and the attester never
 * depends on the verifier (what runs inside the enclave stays small); `ratls` depends on both.
 */
import { createPrivateKey, webcrypto } from 'node:crypto';
import http from 'node:http';
import { x509 } from '@ratls/attester/x509';
import { isErrorCode, RatlsError } from '@ratls/evidence';
import { type ClientAttestationOptions, connectAttested } from '@ratls/verifier';

/** A chain is a few KiB, a token under 4 KiB; anything far larger is refused unread. */
const MAX_RESPONSE_BYTES = 64 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;

export interface RequestIdentityOptions {
  host: string;
  port: number;
  /** SNI (omitted for IP literals). */
  servername?: string;
  /** The enclave's attested TLS credentials (PEM): the certificate is issued for this key. */
  credentials: { key: string; cert: string };
  /** How the gateway is judged, and `channel: { attester }` to answer its challenge. */
  attestation: ClientAttestationOptions;
  kind: 'x509' | 'ear';
  /** EAR only: the relying party the token is for. */
  aud?: string;
  /** EAR only: base64url, 8-64 bytes, echoed as `eat_nonce`. */
  nonce?: string;
  /** Whole exchange bound (default 30 s). */
  timeoutMs?: number;
}

export type IssuedIdentity =
  | {
      kind: 'x509';
      /** The leaf, PEM. */
      certPem: string;
      /** Leaf then the CA chain, PEM (what libpq's `sslcert` points at). */
      chainPem: string;
      notBefore: Date;
      notAfter: Date;
    }
  | { kind: 'ear'; token: string; expiresAt: Date };

function invalid(msg: string): RatlsError {
  return new RatlsError('ERR_IDENTITY_RESPONSE_INVALID', 'identity', msg);
}

/** A CSR for the credentials' key, with no names: the gateway's policy decides them. */
async function csrFor(credentials: { key: string; cert: string }): Promise<Uint8Array> {
  const key = createPrivateKey(credentials.key);
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const alg =
    curve === 'prime256v1'
      ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
      : curve === 'secp384r1'
        ? { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' }
        : undefined;
  if (!alg)
    throw new RatlsError('ERR_IDENTITY_CSR_INVALID', 'identity', 'the credentials key is not EC P-256 or P-384');
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const cert = new x509.X509Certificate(credentials.cert);
  const keys = {
    privateKey: await webcrypto.subtle.importKey('pkcs8', pkcs8, alg, false, ['sign']),
    publicKey: await cert.publicKey.export(alg, ['verify']),
  };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=ratls-identity-request',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: alg.hash },
  });
  return new Uint8Array(csr.rawData);
}

/**
 * Asks the gateway for an identity certificate (`kind: 'x509'`) or an EAR token (`kind: 'ear'`).
 * Throws a RatlsError: the gateway's `ERR_IDENTITY_*` refusal code, ERR_IDENTITY_RESPONSE_INVALID,
 * or the attested-TLS code when the gateway (or its verdict on us) refused the connection.
 * @example
 * const creds = await createAttestedCredentials({ provider });
 * const id = await requestIdentity({
 *   host: 'gateway.internal', port: 8444, credentials: creds.secureContextOptions(),
 *   attestation: { verifier, channel: { attester: createChannelAttester({ provider }) } }, kind: 'x509',
 * });
 * writeFileSync('id.chain.pem', id.kind === 'x509' ? id.chainPem : '');
 */
export async function requestIdentity(o: RequestIdentityOptions): Promise<IssuedIdentity> {
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const body =
    o.kind === 'x509'
      ? Buffer.from(await csrFor(o.credentials))
      : Buffer.from(JSON.stringify({ aud: o.aud ?? '', ...(o.nonce ? { nonce: o.nonce } : {}) }));
  const socket = await connectAttested({
    host: o.host,
    port: o.port,
    ...(o.servername ? { servername: o.servername } : {}),
    key: o.credentials.key,
    cert: o.credentials.cert,
    minVersion: 'TLSv1.3',
    attestation: { timeoutMs, ...o.attestation },
  });
  try {
    const res = await new Promise<{ status: number; type: string; bytes: Buffer }>((resolve, reject) => {
      const req = http.request(
        {
          createConnection: () => socket,
          method: 'POST',
          path: o.kind === 'x509' ? '/v1/identity/x509' : '/v1/identity/ear',
          headers: {
            host: o.servername ?? o.host,
            'content-type': o.kind === 'x509' ? 'application/pkcs10' : 'application/json',
            'content-length': body.length,
            connection: 'close',
          },
          timeout: timeoutMs,
        },
        (r) => {
          const chunks: Buffer[] = [];
          let n = 0;
          r.on('data', (c: Buffer) => {
            n += c.length;
            if (n > MAX_RESPONSE_BYTES) {
              r.destroy();
              reject(invalid(`answer over ${MAX_RESPONSE_BYTES} bytes`));
              return;
            }
            chunks.push(c);
          });
          r.once('end', () =>
            resolve({
              status: r.statusCode ?? 0,
              type: (r.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '',
              bytes: Buffer.concat(chunks),
            }),
          );
          r.once('error', (e) => reject(invalid(`answer: ${e.message}`)));
        },
      );
      req.once('timeout', () => req.destroy(invalid(`no answer within ${timeoutMs} ms`)));
      req.once('error', (e) => reject(e instanceof RatlsError ? e : invalid(`request: ${e.message}`)));
      req.end(body);
    });
    if (res.status !== 200) {
      let code = '';
      try {
        code = String((JSON.parse(res.bytes.toString('utf8')) as { code?: unknown }).code ?? '');
      } catch {
        // Not the endpoint's JSON refusal: reported as an invalid answer below.
      }
      if (/^ERR_IDENTITY_[A-Z0-9_]+$/.test(code) && isErrorCode(code))
        throw new RatlsError(code, 'identity', `the gateway refused the ${o.kind} request (HTTP ${res.status})`);
      throw invalid(`HTTP ${res.status} without an identity refusal code`);
    }
    if (o.kind === 'ear') {
      if (res.type !== 'application/jwt') throw invalid(`content-type ${res.type}, application/jwt expected`);
      const token = res.bytes.toString('ascii').trim();
      const parts = token.split('.');
      if (parts.length !== 3) throw invalid('the answer is not a JWS compact serialization');
      let payload: { exp?: unknown };
      try {
        payload = JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as { exp?: unknown };
      } catch {
        throw invalid('the token payload is not JSON');
      }
      if (typeof payload !== 'object' || payload === null || typeof payload.exp !== 'number')
        throw invalid('the token has no exp');
      return { kind: 'ear', token, expiresAt: new Date(payload.exp * 1000) };
    }
    if (res.type !== 'application/pem-certificate-chain')
      throw invalid(`content-type ${res.type}, application/pem-certificate-chain expected`);
    const chainPem = res.bytes.toString('utf8');
    let leaf: x509.X509Certificate;
    try {
      const blocks = x509.PemConverter.decode(chainPem);
      if (blocks.length < 2) throw new Error('expected the leaf and its CA');
      leaf = new x509.X509Certificate(blocks[0] as ArrayBuffer);
    } catch (e) {
      throw invalid(`the chain is unreadable: ${(e as Error).message}`);
    }
    // The certificate is only useful for the key we hold: a gateway that issued for another is broken.
    const mine = Buffer.from(new x509.X509Certificate(o.credentials.cert).publicKey.rawData);
    if (!mine.equals(Buffer.from(leaf.publicKey.rawData))) throw invalid('the issued certificate is not for our key');
    return {
      kind: 'x509',
      certPem: leaf.toString('pem'),
      chainPem,
      notBefore: leaf.notBefore,
      notAfter: leaf.notAfter,
    };
  } finally {
    socket.destroy();
  }
}
