/**
 * End to end over real TLS on 127.0.0.1: RA-TLS certificates from the attester's simulated SGX
 * platform, appraised by the real verifier and policy, one audit event per attempt.
 * (@ratls/sim is a test-only import here: the verifier package never depends on it.)
 */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { createAttestedCredentials } from '@ratls/attester';
import { initSimulation, type SimState, type SimulatedQuoteOptions, SimulatedQuoteProvider } from '@ratls/sim';
import { makeSelfSigned } from '@ratls/test-support/tls-testkit';
import { x509 } from '@ratls/test-support/x509';
import type { AuditEvent } from '../audit/event.js';
import { createAuditLog } from '../audit/log.js';
import { TLS_ERRORS } from '../decide/errors.js';
import { createPeerVerifier } from '../decide/peer-verifier.js';
import { parsePolicy } from '../policy/parse.js';
import type { Policy } from '../policy/types.js';
import { type TrustAnchor, trustAnchorFrom } from '../trust.js';
import { trustStore } from '../trust-store.js';
import { connectAttested } from './client.js';
import { createServer } from './server.js';

const AT = new Date('2026-03-01T12:00:00Z').getTime();
const DAY = 86_400_000;
const MR_ENCLAVE = '11'.repeat(32);
const MR_SIGNER = '22'.repeat(32);

let dir: string;
let sim: SimState;
let anchor: TrustAnchor;
let collateral: string;

function policyYaml(simulated: boolean): Policy {
  return parsePolicy(
    `version: 1
defaults:
  tcbStatus: [UpToDate, SWHardeningNeeded]
  debug: false
  simulated: ${simulated}
identities:
  - name: app
    sgx: { mrEnclave: [ "${MR_ENCLAVE}" ] }
  - name: family
    sgx: { mrSigner: [ "${'33'.repeat(32)}" ], isvProdId: 0, minIsvSvn: 3 }
`,
    { source: `e2e-${simulated}` },
  );
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-tls-e2e-'));
  sim = await initSimulation(dir, { at: new Date(AT), collateralDays: 30 });
  anchor = trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'));
  collateral = await readFile(join(dir, 'collateral.json'), 'utf8');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function raTls(opts: Omit<SimulatedQuoteOptions, 'tee'>, at = AT): Promise<{ key: string; cert: string }> {
  const creds = await createAttestedCredentials({
    provider: new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave: MR_ENCLAVE, mrSigner: MR_SIGNER, ...opts }),
    clock: () => at,
    autoRenew: false,
  });
  const out = { key: creds.keyPem, cert: creds.cert };
  creds.close();
  return out;
}

async function caIssued(): Promise<{ key: string; cert: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const caKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leafKeys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=Plain CA',
    notBefore: new Date(AT - DAY),
    notAfter: new Date(AT + DAY),
    keys: caKeys,
    signingAlgorithm: alg,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02',
    subject: 'CN=plain.example',
    issuer: ca.subject,
    notBefore: new Date(AT - DAY),
    notAfter: new Date(AT + DAY),
    publicKey: leafKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: alg,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', leafKeys.privateKey)).toString('base64');
  return {
    key: `-----BEGIN PRIVATE KEY-----\n${pkcs8}\n-----END PRIVATE KEY-----\n`,
    cert: `${leaf.toString('pem')}\n${ca.toString('pem')}\n`,
  };
}

describe('attested TLS end to end with the simulated SGX platform', () => {
  test('server: one accept and every reject with its own reason and one audit event', async () => {
    let now = AT + 60_000;
    let active = policyYaml(true);
    const events: AuditEvent[] = [];
    const verifier = createPeerVerifier({
      policy: { current: () => active },
      trustAnchors: [anchor],
      collateral,
      audit: createAuditLog({ sink: { callback: (e) => events.push(e) } }),
      listener: 'e2e',
    });
    const serverCreds = await makeSelfSigned('e2e-server');
    const served: string[] = [];
    const server = createServer(
      { key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier, clock: () => now } },
      (s) => {
        served.push(s.attestation.identity ?? '?');
        s.on('data', () => undefined);
        s.end('welcome');
      },
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;

    async function attempt(creds?: { key: string; cert: string }): Promise<{ got: string; event: AuditEvent }> {
      const before = events.length;
      const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(creds ?? {}) });
      c.on('error', () => undefined);
      c.once('secureConnect', () => c.write('early bytes'));
      let got = '';
      c.on('data', (d: Buffer) => {
        got += d.toString();
      });
      await once(c, 'close');
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(events.length, before + 1, 'exactly one audit event per attempt');
      return { got, event: events.at(-1) as AuditEvent };
    }

    try {
      const good = await raTls({});
      const ok = await attempt(good);
      assert.equal(ok.got, 'welcome');
      assert.equal(ok.event.event.outcome, 'success');
      assert.equal(ok.event.labels?.listener, 'e2e');
      // Same certificate again: served from the verified-result cache, policy still evaluated.
      assert.equal((await attempt(good)).got, 'welcome');
      assert.equal(verifier.cacheSize, 1);

      const rejects: Array<[string, { key: string; cert: string } | undefined, string, string]> = [
        ['wrong MRENCLAVE', await raTls({ mrEnclave: '44'.repeat(32) }), 'measurement_mismatch', 'ERR_POLICY_REJECTED'],
        [
          'wrong MRSIGNER',
          await raTls({ mrEnclave: '44'.repeat(32), mrSigner: '55'.repeat(32), isvSvn: 5 }),
          'measurement_mismatch',
          'ERR_POLICY_REJECTED',
        ],
        [
          'ISVSVN below minimum',
          await raTls({ mrEnclave: '44'.repeat(32), mrSigner: '33'.repeat(32), isvSvn: 1 }),
          'measurement_mismatch',
          'ERR_POLICY_REJECTED',
        ],
        ['debug enclave', await raTls({ debug: true }), 'debug_not_allowed', 'ERR_POLICY_REJECTED'],
        ['OutOfDate TCB', await raTls({ tcb: 'OutOfDate' }), 'tcb_status_not_allowed', 'ERR_POLICY_REJECTED'],
        [
          'certificate without evidence',
          await makeSelfSigned('no-evidence', AT),
          'verification_failed',
          'ERR_CERT_NO_EVIDENCE',
        ],
        ['plain CA-issued certificate', await caIssued(), 'verification_failed', 'ERR_CERT_NOT_SELF_SIGNED'],
        ['no certificate', undefined, 'verification_failed', TLS_ERRORS.NO_PEER_CERTIFICATE],
      ];
      for (const [label, creds, reason, code] of rejects) {
        const r = await attempt(creds);
        assert.equal(r.got, '', `${label}: nothing served`);
        assert.equal(r.event.event.outcome, 'failure', label);
        assert.equal(r.event.event.reason, reason, label);
        assert.equal(r.event.error?.code, code, `${label}: ${r.event.message}`);
      }
      const isv = events.at(-6);
      assert.match(isv?.message ?? '', /isvSvn 1 < 3/);

      // The policy reloads to one that refuses the simulated root: the cached result is re-judged at once.
      active = policyYaml(false);
      const sim = await attempt(good);
      assert.equal(sim.event.event.reason, 'simulated_not_allowed');
      active = policyYaml(true);

      // Collateral expired at the handshake time (certificate itself still valid then).
      now = AT + 31 * DAY;
      const late = await attempt(await raTls({}, now - 60_000));
      assert.equal(late.got, '');
      assert.equal(late.event.error?.code, 'ERR_COLLATERAL_EXPIRED', late.event.message);

      assert.deepEqual(served, ['app', 'app']);
    } finally {
      server.close();
      await once(server, 'close');
    }
  });

  test('mutual RA-TLS with simulated certificates: each side applies its own policy', async () => {
    const now = AT + 60_000;
    const serverCreds = await raTls({});
    const clientCreds = await raTls({ mrEnclave: '66'.repeat(32) });
    const clientPolicy = parsePolicy(
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: client-app\n    sgx: { mrEnclave: [ "${'66'.repeat(32)}" ] }\n`,
    );
    const serverVerifier = createPeerVerifier({ policy: clientPolicy, trustAnchors: [anchor], collateral });
    const server = createServer({ ...serverCreds, attestation: { verifier: serverVerifier, clock: () => now } }, (s) =>
      s.end(`hello ${s.attestation.identity}`),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const s = await connectAttested({
        host: '127.0.0.1',
        port,
        ...clientCreds,
        attestation: { policy: policyYaml(true), trustAnchors: [anchor], collateral, clock: () => now },
      });
      assert.equal(s.attestation.identity, 'app');
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString();
      });
      await once(s, 'end');
      assert.equal(got, 'hello client-app');

      // A client whose own policy does not know this server refuses it before writing anything.
      await assert.rejects(
        connectAttested({
          host: '127.0.0.1',
          port,
          ...clientCreds,
          attestation: { policy: clientPolicy, trustAnchors: [anchor], collateral, clock: () => now },
        }),
        { code: 'ERR_POLICY_REJECTED', reason: 'measurement_mismatch' },
      );
    } finally {
      server.close();
      await once(server, 'close');
    }
  });

  test('createServer and connectAttested take the one trust store; without the simulated root the peer is refused', async () => {
    const now = AT + 60_000;
    const serverCreds = await raTls({});
    const clientCreds = await raTls({ mrEnclave: '66'.repeat(32) });
    const clientPolicy = parsePolicy(
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: client-app\n    sgx: { mrEnclave: [ "${'66'.repeat(32)}" ] }\n`,
    );
    const server = createServer(
      {
        ...serverCreds,
        attestation: { policy: clientPolicy, trust: trustStore({ intel: [anchor] }), collateral, clock: () => now },
      },
      (s) => s.end(`hello ${s.attestation.identity}`),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    try {
      const s = await connectAttested({
        host: '127.0.0.1',
        port,
        ...clientCreds,
        attestation: { policy: policyYaml(true), trust: { intel: [anchor] }, collateral, clock: () => now },
      });
      assert.equal(s.attestation.identity, 'app');
      s.destroy();
      // The default store holds only the real Intel SGX Root CA: the simulated chain does not reach it.
      await assert.rejects(
        connectAttested({
          host: '127.0.0.1',
          port,
          ...clientCreds,
          attestation: { policy: policyYaml(true), trust: trustStore(), collateral, clock: () => now },
        }),
        { code: 'ERR_UNTRUSTED_ROOT' },
      );
    } finally {
      server.close();
      await once(server, 'close');
    }
  });
});
