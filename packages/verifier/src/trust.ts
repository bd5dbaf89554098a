/**
 * Trust anchors. The built-in default is the real Intel SGX Root CA; anything else must be
 * configured by the caller. A simulated root (made by `ratls sim init`) is recognised by its
 * subject marker and every result it verifies says `simulated: true`.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import { ConfigError, nodeCertificateFromDer, readPemOne, SIMULATION_MARKER } from '@ratls/evidence';

export { SIMULATION_MARKER };

export interface TrustAnchor {
  /** DER of the self-signed root certificate. */
  der: Uint8Array;
  /** Subject, for messages. */
  name: string;
  /** SHA-256 of the DER, lower-case hex. */
  sha256: string;
  /** True for a root made by the ratls simulator. Never true for a production vendor root. */
  simulated: boolean;
}

/** Intel SGX Root CA (CN=Intel SGX Root CA, 2018-05-21 to 2049-12-31), SHA-256 44a0196b…b674d3. */
const INTEL_SGX_ROOT_CA_B64 =
  'MIICjzCCAjSgAwIBAgIUImUM1lqdNInzg7SVUr9QGzknBqwwCgYIKoZIzj0EAwIwaDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYTAlVTMB4XDTE4MDUyMTEwNDUxMFoXDTQ5MTIzMTIzNTk1OVowaDEaMBgGA1UEAwwRSW50ZWwgU0dYIFJvb3QgQ0ExGjAYBgNVBAoMEUludGVsIENvcnBvcmF0aW9uMRQwEgYDVQQHDAtTYW50YSBDbGFyYTELMAkGA1UECAwCQ0ExCzAJBgNVBAYTAlVTMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEC6nEwMDIYZOj/iPWsCzaEKi71OiOSLRFhWGjbnBVJfVnkY4u3IjkDYYL0MxO4mqsyYjlBalTVYxFP2sJBK5zlKOBuzCBuDAfBgNVHSMEGDAWgBQiZQzWWp00ifODtJVSv1AbOScGrDBSBgNVHR8ESzBJMEegRaBDhkFodHRwczovL2NlcnRpZmljYXRlcy50cnVzdGVkc2VydmljZXMuaW50ZWwuY29tL0ludGVsU0dYUm9vdENBLmRlcjAdBgNVHQ4EFgQUImUM1lqdNInzg7SVUr9QGzknBqwwDgYDVR0PAQH/BAQDAgEGMBIGA1UdEwEB/wQIMAYBAf8CAQEwCgYIKoZIzj0EAwIDSQAwRgIhAOW/5QkR+S9CiSDcNoowLuPRLsWGf/Yi7GSX94BgwTwgAiEA4J0lrHoMs+Xo5o/sX6O9QWxHRAvZUGOdRQ7cvqRXaqI=';
export const INTEL_SGX_ROOT_CA_SHA256 = '44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3';

/**
 * Builds a trust anchor from PEM text or DER bytes. Detects simulated roots by their subject marker.
 * @example const anchor = trustAnchorFrom(readFileSync('sim/root.pem', 'utf8'))
 */
export function trustAnchorFrom(input: string | Uint8Array): TrustAnchor {
  let cert: X509Certificate;
  try {
    // Operator-configured PEM: the strict reader (one CERTIFICATE block), then the byte-exact Node wrapper.
    cert = nodeCertificateFromDer(typeof input === 'string' ? readPemOne(input, 'CERTIFICATE') : input);
  } catch (e) {
    throw new ConfigError('ERR_TRUST_ANCHOR_INVALID', 'config', 'trust anchor: not a parseable X.509 certificate', {
      cause: e,
    });
  }
  const der = new Uint8Array(cert.raw);
  return {
    der,
    name: cert.subject.replace(/\n/g, ', '),
    sha256: createHash('sha256').update(der).digest('hex'),
    simulated: cert.subject.includes(SIMULATION_MARKER),
  };
}

/** A trust anchor as operators and older options give it: PEM text, DER bytes, or an anchor. */
export type TrustAnchorInput = string | Uint8Array | TrustAnchor;

/**
 * Edge conversion to the one anchor shape: each PEM or DER entry becomes a `TrustAnchor`
 * (ERR_TRUST_ANCHOR_INVALID for one that is not a certificate); anchors pass through.
 * @example const arks = toTrustAnchors([readFileSync('ark.pem', 'utf8')]);
 */
export function toTrustAnchors(list: readonly TrustAnchorInput[]): TrustAnchor[] {
  return list.map((a) => (typeof a === 'string' || a instanceof Uint8Array ? trustAnchorFrom(a) : a));
}

let intelRoot: TrustAnchor | undefined;
/** The pinned production Intel SGX Root CA. */
export function intelSgxRootCa(): TrustAnchor {
  if (!intelRoot) {
    intelRoot = trustAnchorFrom(new Uint8Array(Buffer.from(INTEL_SGX_ROOT_CA_B64, 'base64')));
    if (intelRoot.sha256 !== INTEL_SGX_ROOT_CA_SHA256) throw new Error('built-in Intel SGX Root CA is corrupt');
  }
  return intelRoot;
}

/** The anchors used when the caller names none: the real vendor roots only. */
export function defaultTrustAnchors(): TrustAnchor[] {
  return [intelSgxRootCa()];
}
