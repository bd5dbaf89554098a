/**
 * Test and benchmark helpers for the TLS wrappers: ordinary self-signed certificates and a fake
 * appraiser that accepts by fingerprint. Lives in the private @ratls/test-support package, never
 * in a published one; its forged results come through `./forge.js`.
 */
import { createHash, webcrypto } from 'node:crypto';
import { x509 } from '@ratls/attester/x509';
import type { PeerAppraiser, PeerContext, PeerDecision, PeerVerification, SgxResult } from '@ratls/verifier';
import { forgeVerifiedResult } from './forge.js';

export interface TestCredentials {
  key: string;
  cert: string;
  der: Uint8Array;
  fingerprint: string;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A self-signed P-256 certificate valid from an hour before `at` for a day. */
export async function makeSelfSigned(cn = 'ratls-test', at = Date.now()): Promise<TestCredentials> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const now = at;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: createHash('sha256').update(`${cn}${now}${Math.random()}`).digest('hex').slice(0, 16),
    name: `CN=${cn}`,
    notBefore: new Date(now - 3600_000),
    notAfter: new Date(now + 86_400_000),
    keys,
    signingAlgorithm: ALG,
  });
  const pkcs8 = new Uint8Array(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64')}\n-----END PRIVATE KEY-----\n`;
  const der = new Uint8Array(cert.rawData);
  return { key, cert: cert.toString('pem'), der, fingerprint: createHash('sha256').update(der).digest('hex') };
}

/** A verified-looking SGX result for fakes (marked verified: the fakes stand in for an appraiser). */
export function fakeSgxResult(
  mrEnclave = 'aa'.repeat(32),
  window = { notBefore: 0, notAfter: 4_102_444_800 },
  debug = false,
): SgxResult {
  return forgeVerifiedResult<SgxResult>({
    tee: 'sgx',
    simulated: true,
    evidenceSha256: '00'.repeat(32),
    debug,
    collateralWindow: window,
    quoteVersion: 3,
    tcbStatus: 'UpToDate',
    platformTcbStatus: 'UpToDate',
    qeTcbStatus: 'UpToDate',
    advisoryIds: [],
    fmspc: '00906ed50000',
    measurements: {
      mrEnclave,
      mrSigner: 'bb'.repeat(32),
      isvProdId: 0,
      isvSvn: 1,
      attributes: '00'.repeat(16),
      reportData: '00'.repeat(64),
    },
  });
}

/**
 * A stand-in verifier's answer around `t` (unix seconds): a verified-looking SGX result whose
 * collateral window ends at `resultUntil`, for a DICE certificate valid until `certUntil`.
 * @example verify: async () => fakePeerVerification(T, T + 1000)
 */
export function fakePeerVerification(t: number, resultUntil: number, certUntil = t + 5000): PeerVerification {
  return {
    result: fakeSgxResult(undefined, { notBefore: t - 100, notAfter: resultUntil }),
    certificate: { fingerprintSha256: 'x', notBefore: t - 50, notAfter: certUntil, subject: 'CN=x', formats: ['dice'] },
    binding: { formats: ['dice'] },
  };
}

export interface FakeAppraiser extends PeerAppraiser {
  calls: Array<{ fingerprint: string; ctx: PeerContext }>;
  rejects: Array<{ code: string; message: string }>;
}

/** Accepts certificates whose SHA-256 is in `allow`, after an optional delay. */
export function fakeAppraiser(
  allow: Iterable<string>,
  opts: { delayMs?: number; identity?: string } = {},
): FakeAppraiser {
  const allowed = new Set(allow);
  const calls: FakeAppraiser['calls'] = [];
  const rejects: FakeAppraiser['rejects'] = [];
  return {
    calls,
    rejects,
    async appraise(der, ctx): Promise<PeerDecision> {
      const fingerprint = createHash('sha256').update(der).digest('hex');
      calls.push({ fingerprint, ctx });
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (allowed.has(fingerprint)) {
        return {
          accept: true,
          result: fakeSgxResult(),
          decision: { accept: true, identity: opts.identity ?? 'fake', policyHash: 'ff'.repeat(32), reasons: [] },
        };
      }
      const error = { code: 'ERR_FAKE_REJECT', message: 'fingerprint not allowed' };
      rejects.push(error);
      return { accept: false, error };
    },
    reject(error) {
      rejects.push(error);
    },
  };
}
