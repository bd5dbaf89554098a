import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import tls from 'node:tls';
import { ConfigError, ProviderError, toHex } from '@ratls/evidence';
import { FixedQuoteProvider } from '@ratls/test-support/quote-fixtures';
import { SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import type { Evidence, QuoteProvider } from '../providers/types.js';
import { x509 } from '../x509.js';
import { type AttestedCredentials, createAttestedCredentials, type RenewedEvent } from './attested-credentials.js';
import { exportPrivateKeyPem } from './keys.js';

/** Succeeds `okCalls` times, then fails with a typed provider error. */
class FlakyProvider implements QuoteProvider {
  readonly name = 'flaky';
  readonly tee = 'sgx' as const;
  calls = 0;
  readonly #inner = new FixedQuoteProvider('sgx');
  constructor(private readonly okCalls: number) {}
  async getEvidence(rd: Uint8Array): Promise<Evidence> {
    this.calls++;
    if (this.calls > this.okCalls) throw new ProviderError('ERR_PROVIDER_READ', 'provider', 'flaky: device busy');
    return this.#inner.getEvidence(rd);
  }
}

/** The renewal timer is unref'd (it must not keep a server's process alive); tests hold the loop open. */
async function withLoopHeld<T>(p: Promise<T>): Promise<T> {
  const hold = setInterval(() => undefined, 1000);
  try {
    return await p;
  } finally {
    clearInterval(hold);
  }
}

function spki(c: AttestedCredentials): string {
  return toHex(new Uint8Array(new x509.X509Certificate(c.certDer).publicKey.rawData));
}

function assertNoPrivateKey(json: string, pem: string): void {
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  assert.ok(!json.includes('PRIVATE KEY'), 'no PEM header');
  for (const line of body) assert.ok(!json.includes(line), 'no PEM body line');
  assert.ok(!/"d"\s*:/.test(json), 'no JWK d');
}

describe('createAttestedCredentials', { skip: SKIP_NO_VECTORS }, () => {
  test('attests once, serves TLS on 127.0.0.1 with the attested certificate', async () => {
    const provider = new FixedQuoteProvider('sgx');
    const creds = await createAttestedCredentials({ provider, altNames: ['localhost'] });
    try {
      assert.equal(provider.requested.length, 1);
      assert.equal(creds.evidence.tee, 'sgx');
      assert.equal(creds.keyType, 'P-256');
      assert.equal(creds.notAfter.getTime() - creds.notBefore.getTime(), 3660_000);
      const server = tls.createServer(creds.secureContextOptions(), (s) => s.end('hi'));
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      try {
        const { port } = server.address() as AddressInfo;
        const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, servername: 'localhost' });
        await once(sock, 'secureConnect');
        const peer = sock.getPeerCertificate(true);
        assert.deepEqual(new Uint8Array(peer.raw), creds.certDer);
        sock.destroy();
      } finally {
        server.close();
      }
    } finally {
      creds.close();
    }
  });

  test('renews before expiry with a new key and certificate (short validity)', async () => {
    const provider = new FixedQuoteProvider('sgx');
    const creds = await createAttestedCredentials({
      provider,
      validitySeconds: 2,
      renewBeforeSeconds: 1.5,
      keyType: 'P-384',
    });
    try {
      const oldSpki = spki(creds);
      const oldCert = creds.cert;
      const oldKey = creds.keyPem;
      const [ev] = (await withLoopHeld(once(creds, 'renewed', { signal: AbortSignal.timeout(5000) }))) as [
        RenewedEvent,
      ];
      assert.equal(provider.requested.length, 2);
      assert.notEqual(creds.cert, oldCert);
      assert.equal(ev.cert, creds.cert);
      assert.notEqual(spki(creds), oldSpki);
      assert.notEqual(creds.keyPem, oldKey);
      assert.equal(creds.keyType, 'P-384');
      assertNoPrivateKey(JSON.stringify(ev), creds.keyPem);
    } finally {
      creds.close();
    }
  });

  test('default schedule: renews 15 minutes before the 1-hour expiry (mocked timers, injected clock)', async (t) => {
    let now = Date.parse('2026-01-15T12:00:00Z');
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const provider = new FixedQuoteProvider('sgx');
    const creds = await createAttestedCredentials({ provider, clock: () => now });
    try {
      assert.equal(creds.notAfter.getTime(), now + 3600_000);
      now += 2699_000;
      t.mock.timers.tick(2699_000);
      await new Promise((r) => setImmediate(r));
      assert.equal(provider.requested.length, 1, 'not yet at 44:59');
      const renewed = once(creds, 'renewed');
      now += 1000;
      t.mock.timers.tick(1000);
      await renewed;
      assert.equal(provider.requested.length, 2);
      assert.equal(creds.notAfter.getTime(), now + 3600_000);
    } finally {
      creds.close();
    }
  });

  test('a failed renewal keeps the old credentials and emits error', async () => {
    const provider = new FlakyProvider(1);
    const creds = await createAttestedCredentials({ provider, validitySeconds: 3, renewBeforeSeconds: 2.5 });
    try {
      const cert = creds.cert;
      const key = creds.keyPem;
      const [err] = await withLoopHeld(once(creds, 'error', { signal: AbortSignal.timeout(5000) }));
      assert.ok(err instanceof ProviderError);
      assert.equal(err.code, 'ERR_PROVIDER_READ');
      assert.equal(creds.cert, cert);
      assert.equal(creds.keyPem, key);
      assert.equal(creds.expired, false);
    } finally {
      creds.close();
    }
  });

  test('without an error listener a failed renewal is a process warning, not a crash', async () => {
    const creds = await createAttestedCredentials({ provider: new FlakyProvider(1), autoRenew: false });
    const warned = once(process, 'warning');
    await assert.rejects(creds.renew(), { code: 'ERR_PROVIDER_READ' });
    const [w] = await warned;
    assert.match(String((w as Error).message), /ERR_PROVIDER_READ/);
    creds.close();
  });

  test('renew() on demand; concurrent calls share one attestation; close() stops it', async () => {
    const provider = new FixedQuoteProvider('sgx');
    const creds = await createAttestedCredentials({ provider, autoRenew: false });
    await Promise.all([creds.renew(), creds.renew()]);
    assert.equal(provider.requested.length, 2);
    creds.close();
    await assert.rejects(
      creds.renew(),
      (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CREDENTIALS_CLOSED',
    );
  });

  test('close() stops the renewal timer', async () => {
    const provider = new FixedQuoteProvider('sgx');
    const creds = await createAttestedCredentials({ provider, validitySeconds: 2, renewBeforeSeconds: 1.9 });
    creds.close();
    await new Promise((r) => setTimeout(r, 1300));
    assert.equal(provider.requested.length, 1);
  });

  test('JSON of the credentials never carries the private key', async () => {
    const creds = await createAttestedCredentials({ provider: new FixedQuoteProvider('sgx'), format: 'both' });
    try {
      const pem = exportPrivateKeyPem(creds);
      assert.equal(pem, creds.keyPem);
      const json = JSON.stringify(creds);
      assertNoPrivateKey(json, pem);
      assert.deepEqual(Object.keys(JSON.parse(json)).sort(), [
        'attestations',
        'keyType',
        'notAfter',
        'notBefore',
        'spkiSha256',
      ]);
      assertNoPrivateKey(JSON.stringify(creds.attestations), pem);
    } finally {
      creds.close();
    }
  });

  test('renewBeforeSeconds must be inside the lifetime', async () => {
    for (const renewBeforeSeconds of [0, -1, 3600, 4000, Number.NaN]) {
      await assert.rejects(
        createAttestedCredentials({ provider: new FixedQuoteProvider('sgx'), renewBeforeSeconds }),
        (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG_RENEW_BEFORE',
      );
    }
  });

  test('a failing first attestation rejects with the typed error', async () => {
    await assert.rejects(createAttestedCredentials({ provider: new FlakyProvider(0) }), { code: 'ERR_PROVIDER_READ' });
  });
});
