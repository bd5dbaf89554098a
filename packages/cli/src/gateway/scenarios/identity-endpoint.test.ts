/**
 * Issue 15 end to end on 127.0.0.1: the real gateway process with an identity listener
 * (`freshness: channel`) and a simulated enclave `payments`. `ratls identity` (a real process)
 * gets a certificate for the enclave's own key; real psql logs into a real PostgreSQL with it as
 * app_payments, and not as another role; an impostor enclave gets nothing; a client that cannot
 * answer the channel challenge (a thief with the enclave's key and certificate, or a
 * certificate-mode client) is refused; a CSR for another key is refused with its code; an EAR
 * token from the endpoint verifies with jose against the JWKS the listener serves.
 */
import assert from 'node:assert/strict';
import { createHash, createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type AttestedCredentials, createAttestedCredentials, createChannelAttester } from '@ratls/attester';
import { x509 } from '@ratls/attester/x509';
import type { ChannelAttester } from '@ratls/evidence';
import { initSimulation } from '@ratls/sim';
import {
  type GatewayProcess,
  simCert,
  simulatorPolicy,
  spawnGateway,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { HAVE_POSTGRES, psqlWithCert, startPostgres, type TempPostgres } from '@ratls/test-support/postgres';
import { spawnCli } from '@ratls/test-support/run-cli';
import { makeSelfSigned } from '@ratls/test-support/tls-testkit';
import {
  type AuditEvent,
  type ClientAttestationOptions,
  connectAttested,
  createAuditLog,
  loadPolicyFile,
} from '@ratls/verifier';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { openProvider } from '../../client/provider.js';
import { requestIdentity } from '../../identity/request-identity.js';
import { listenerAppraiser } from '../appraiser.js';
import { buildTrust } from '../state.js';

const PAYMENTS_M = '11'.repeat(32);
const GATEWAY_M = '33'.repeat(32);
const IMPOSTOR_M = '44'.repeat(32);
const PG_SKIP = !HAVE_POSTGRES && !process.env.CI ? 'PostgreSQL (initdb, psql) not installed' : false;

interface Enclave {
  creds: AttestedCredentials;
  attestation: ClientAttestationOptions;
}

describe('gateway identity endpoint (real processes, simulated enclaves)', () => {
  let dir: string;
  let sim: string;
  let gw: GatewayProcess;
  let port: number;
  let payments: Enclave;
  const enclaves: Enclave[] = [];

  /** A simulated enclave that judges the gateway by server-policy.yaml and answers its challenge. */
  const enclave = async (m: string, channel = true): Promise<Enclave> => {
    const provider = await openProvider({ kind: 'simulated', dir: sim, tee: 'sgx', mrEnclave: m, debug: false });
    const creds = await createAttestedCredentials({ provider, validitySeconds: 3600, subject: 'enclave' });
    const serverPolicy = await loadPolicyFile(join(dir, 'server-policy.yaml'));
    const { verification } = await buildTrust(
      { anchors: [join(sim, 'root.pem')], collateral: { kind: 'files', paths: [join(sim, 'collateral.json')] } },
      undefined,
      {},
    );
    const verifier = listenerAppraiser({
      verification,
      policy: () => serverPolicy,
      audit: createAuditLog({ sink: { callback: () => undefined } }),
      listener: 'test',
      maxCertificateBytes: 65_536,
      appraisalTimeoutMs: 10_000,
    });
    const attester: ChannelAttester = createChannelAttester({ provider });
    const e = { creds, attestation: { verifier, timeoutMs: 15_000, ...(channel ? { channel: { attester } } : {}) } };
    enclaves.push(e);
    return e;
  };

  /** One request on an attested connection, for what requestIdentity never sends. */
  const raw = async (
    e: Enclave,
    req: { method: string; path: string; type?: string; body?: Uint8Array },
  ): Promise<{ status: number; type: string; body: string }> => {
    const socket = await connectAttested({
      host: '127.0.0.1',
      port,
      ...e.creds.secureContextOptions(),
      minVersion: 'TLSv1.3',
      attestation: e.attestation,
    });
    try {
      return await new Promise((resolve, reject) => {
        const r = http.request(
          {
            createConnection: () => socket,
            method: req.method,
            path: req.path,
            headers: {
              host: 'gateway',
              ...(req.type ? { 'content-type': req.type } : {}),
              'content-length': req.body?.length ?? 0,
            },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (body += c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }),
            );
          },
        );
        r.once('error', reject);
        r.end(req.body ? Buffer.from(req.body) : undefined);
      });
    } finally {
      socket.destroy();
    }
  };

  const audit = (): AuditEvent[] => {
    const file = join(dir, 'audit.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as AuditEvent);
  };
  /** Audit events are written by the gateway asynchronously: wait (bounded) for one to appear. */
  const waitFor = async (pred: (e: AuditEvent) => boolean): Promise<AuditEvent> => {
    for (let i = 0; i < 100; i++) {
      const hit = audit().find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('audit event not written within 10 s');
  };

  before(async () => {
    dir = tempDir('ratls-identity-gw-');
    sim = join(dir, 'sim');
    await initSimulation(sim);
    await simCert(sim, join(dir, 'gateway'), { mrEnclave: GATEWAY_M, subject: 'gateway' });
    writeFile(dir, 'gateway-policy.yaml', simulatorPolicy('payments', [PAYMENTS_M]));
    writeFile(dir, 'server-policy.yaml', simulatorPolicy('kms-gateway', [GATEWAY_M]));
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./gateway-policy.yaml
audit: { file: ./audit.jsonl }
limits: { handshakeTimeoutMs: 15000, drainTimeoutMs: 1000 }
identity:
  trustDomain: prod.example.org
  ca: { dir: ./identity-ca }
  defaultTtl: 15m
  maxTtl: 1h
  ear: { issuer: "https://gateway.test", keysDir: ./ear-keys, audiences: [vault] }
  listeners: [identity]
listeners:
  - name: identity
    listen: 127.0.0.1:0
    tls: { cert: ./gateway.crt, key: ./gateway.key }
    freshness: channel
    channelTimeoutMs: 5000
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'));
    port = gw.addresses.identity ?? 0;
    payments = await enclave(PAYMENTS_M);
  });

  after(async () => {
    for (const e of enclaves) e.creds.close();
    await gw?.stop('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('made the CA once with a 0600 key, and an EAR key the same way', () => {
    assert.equal(statSync(join(dir, 'identity-ca', 'ca.key')).mode & 0o777, 0o600);
    assert.ok(existsSync(join(dir, 'identity-ca', 'ca.pem')));
  });

  describe('ratls identity (real process) then psql 15 against a real PostgreSQL', { skip: PG_SKIP }, () => {
    let pg: TempPostgres | undefined;
    const out = () => join(dir, 'payments-id');

    before(async () => {
      const server = await makeSelfSigned('postgres');
      const { freePort } = await import('@ratls/test-support/gateway-helpers');
      pg = startPostgres(['app_payments', 'app_other'], {
        port: await freePort(),
        serverCertPem: server.cert,
        serverKeyPem: server.key,
        caPem: readFileSync(join(dir, 'identity-ca', 'ca.pem'), 'utf8'),
        hba: ['hostssl all all 127.0.0.1/32 cert clientcert=verify-full map=ratls'],
        ident: ['ratls payments app_payments'],
      });
    });
    after(() => pg?.stop());

    it('writes PREFIX.crt, PREFIX.chain.pem and PREFIX.key (0600) for the payments enclave; audited with the serial', async () => {
      const r = await spawnCli(
        [
          'identity',
          '--gateway',
          `127.0.0.1:${port}`,
          '--out',
          out(),
          '--policy',
          join(dir, 'server-policy.yaml'),
          '--simulated',
          sim,
          '--mrenclave',
          PAYMENTS_M,
        ],
        { timeoutMs: 60_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(statSync(`${out()}.key`).mode & 0o777, 0o600);
      const leaf = new x509.X509Certificate(readFileSync(`${out()}.crt`, 'utf8'));
      assert.equal(leaf.subject, 'CN=payments');
      const san = leaf.getExtension(x509.SubjectAlternativeNameExtension);
      assert.deepEqual(
        san?.names.items.map((n) => n.value),
        ['spiffe://prod.example.org/payments'],
      );
      // The leaf names the key written beside it.
      const written = createPublicKey(createPrivateKey(readFileSync(`${out()}.key`, 'utf8')));
      assert.ok(Buffer.from(leaf.publicKey.rawData).equals(written.export({ type: 'spki', format: 'der' })));
      const life = (leaf.notAfter.getTime() - Date.now()) / 1000;
      assert.ok(life > 0 && life <= 15 * 60 + 5, `lifetime ${life} s`);
      const ev = await waitFor((e) => e.event.action === 'identity.issued' && e.issued?.kind === 'x509');
      assert.equal(ev.attestation?.identity, 'payments');
      assert.equal(ev.issued?.serial?.replace(/^0+/, ''), leaf.serialNumber.toLowerCase().replace(/^0+/, ''));
    });

    it('psql with that certificate logs in as app_payments', () => {
      const r = psqlWithCert(pg?.port ?? 0, { cert: `${out()}.chain.pem`, key: `${out()}.key` }, 'app_payments');
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), 'app_payments');
    });

    it('the same certificate cannot log in as another role', () => {
      for (const role of ['app_other', 'postgres']) {
        const r = psqlWithCert(pg?.port ?? 0, { cert: `${out()}.chain.pem`, key: `${out()}.key` }, role);
        assert.notEqual(r.status, 0);
        assert.match(r.stderr, new RegExp(`certificate authentication failed for user "${role}"`));
      }
    });
  });

  it('an impostor enclave gets no certificate: refused at the channel/policy step, audited', async () => {
    // In process (the `ratls identity` process is exercised above): the same client path, faster.
    const impostor = await enclave(IMPOSTOR_M);
    await assert.rejects(
      requestIdentity({
        host: '127.0.0.1',
        port,
        credentials: impostor.creds.secureContextOptions(),
        attestation: impostor.attestation,
        kind: 'x509',
        timeoutMs: 20_000,
      }),
      (e: unknown) => e instanceof Error && 'code' in e && /^ERR_/.test(String(e.code)),
    );
    const denied = await waitFor(
      (e) =>
        e.event.outcome === 'failure' && e.attestation?.mr_enclave === IMPOSTOR_M && e.labels?.listener === 'identity',
    );
    assert.equal(denied.event.action, 'ratls-handshake');
    assert.equal(
      audit().some((e) => e.event.action === 'identity.issued' && e.attestation?.mr_enclave === IMPOSTOR_M),
      false,
    );
  });

  it('a client that cannot answer the channel challenge (certificate mode, or a thief with the key) is refused', async () => {
    const thief = await enclave(PAYMENTS_M, false);
    const thiefFp = createHash('sha256')
      .update(new Uint8Array(new x509.X509Certificate(thief.creds.cert).rawData))
      .digest('hex');
    await assert.rejects(
      requestIdentity({
        host: '127.0.0.1',
        port,
        credentials: thief.creds.secureContextOptions(),
        attestation: thief.attestation,
        kind: 'x509',
        timeoutMs: 20_000,
      }),
    );
    // The channel step's refusal is recorded as a pre-decision reject (no certificate hash).
    await waitFor(
      (e) =>
        e.event.outcome === 'failure' &&
        e.attestation?.freshness === 'channel' &&
        e.labels?.listener === 'identity' &&
        e.event.action === 'ratls-handshake',
    );
    assert.equal(
      audit().some((e) => e.event.action === 'identity.issued' && e.tls?.client?.hash.sha256 === thiefFp),
      false,
    );
  });

  it('requestIdentity: the certificate is for our key and the policy names it, whatever the CSR asked', async () => {
    const id = await requestIdentity({
      host: '127.0.0.1',
      port,
      credentials: payments.creds.secureContextOptions(),
      attestation: payments.attestation,
      kind: 'x509',
    });
    assert.equal(id.kind, 'x509');
    if (id.kind !== 'x509') return;
    const leaf = new x509.X509Certificate(id.certPem);
    assert.equal(leaf.subject, 'CN=payments');
    assert.ok(id.notAfter.getTime() - Date.now() <= 15 * 60_000 + 5_000);
  });

  it('a CSR for another key is refused with ERR_IDENTITY_KEY_MISMATCH (403), audited as identity.refused', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-256' } as const;
    const keys = (await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=payments',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    });
    const r = await raw(payments, {
      method: 'POST',
      path: '/v1/identity/x509',
      type: 'application/pkcs10',
      body: new TextEncoder().encode(csr.toString('pem')),
    });
    assert.equal(r.status, 403);
    assert.deepEqual(JSON.parse(r.body), { code: 'ERR_IDENTITY_KEY_MISMATCH' });
    const ev = await waitFor(
      (e) => e.event.action === 'identity.refused' && e.error?.code === 'ERR_IDENTITY_KEY_MISMATCH',
    );
    assert.equal(ev.event.outcome, 'failure');
  });

  it('malformed requests get their code and nothing else: bad CSR, wrong type, unknown path, oversized body', async () => {
    const bad = await raw(payments, {
      method: 'POST',
      path: '/v1/identity/x509',
      type: 'application/pkcs10',
      body: new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]),
    });
    assert.equal(bad.status, 400);
    assert.deepEqual(JSON.parse(bad.body), { code: 'ERR_IDENTITY_CSR_INVALID' });
    const type = await raw(payments, {
      method: 'POST',
      path: '/v1/identity/x509',
      type: 'text/plain',
      body: new Uint8Array(4),
    });
    assert.equal(type.status, 415);
    assert.deepEqual(JSON.parse(type.body), { code: 'ERR_IDENTITY_REQUEST_INVALID' });
    const path = await raw(payments, { method: 'GET', path: '/admin' });
    assert.equal(path.status, 404);
    assert.deepEqual(JSON.parse(path.body), { code: 'ERR_IDENTITY_REQUEST_INVALID' });
    const big = await raw(payments, {
      method: 'POST',
      path: '/v1/identity/x509',
      type: 'application/pkcs10',
      body: new Uint8Array(16 * 1024 + 1),
    });
    assert.equal(big.status, 413);
    assert.deepEqual(JSON.parse(big.body), { code: 'ERR_IDENTITY_REQUEST_INVALID' });
  });

  it('EAR: the token verifies with jose against the served JWKS; another audience is refused', async () => {
    const id = await requestIdentity({
      host: '127.0.0.1',
      port,
      credentials: payments.creds.secureContextOptions(),
      attestation: payments.attestation,
      kind: 'ear',
      aud: 'vault',
      nonce: 'bm9uY2Utbm9uY2Utbm9uY2U',
    });
    assert.equal(id.kind, 'ear');
    if (id.kind !== 'ear') return;
    const jwks = await raw(payments, { method: 'GET', path: '/.well-known/jwks.json' });
    assert.equal(jwks.status, 200);
    const { payload, protectedHeader } = await jwtVerify(id.token, createLocalJWKSet(JSON.parse(jwks.body)), {
      issuer: 'https://gateway.test',
      audience: 'vault',
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sub, 'payments');
    assert.equal(payload.eat_nonce, 'bm9uY2Utbm9uY2Utbm9uY2U');
    const sub = (payload.submods as Record<string, { ear_status: string }>).payments;
    assert.ok(sub && ['affirming', 'warning'].includes(sub.ear_status));
    await assert.rejects(
      jwtVerify(id.token, createLocalJWKSet(JSON.parse(jwks.body)), { audience: 'postgres' }),
      /aud/,
    );
    await waitFor(
      (e) => e.event.action === 'identity.issued' && e.issued?.kind === 'ear' && e.issued.audience === 'vault',
    );

    const other = await raw(payments, {
      method: 'POST',
      path: '/v1/identity/ear',
      type: 'application/json',
      body: new TextEncoder().encode(JSON.stringify({ aud: 'postgres' })),
    });
    assert.equal(other.status, 403);
    assert.deepEqual(JSON.parse(other.body), { code: 'ERR_IDENTITY_TOKEN_INVALID' });
    const extra = await raw(payments, {
      method: 'POST',
      path: '/v1/identity/ear',
      type: 'application/json',
      body: new TextEncoder().encode(JSON.stringify({ aud: 'vault', ttl: 86400 })),
    });
    assert.equal(extra.status, 400);
    assert.deepEqual(JSON.parse(extra.body), { code: 'ERR_IDENTITY_REQUEST_INVALID' });
  });
});
