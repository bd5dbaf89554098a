import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  CertificateError,
  ConfigError,
  checkBinding,
  decodeDiceClaims,
  decodeDiceTaggedEvidence,
  ProviderError,
  parseRatlsCertificate,
  type RatlsError,
  sha256,
  spkiHash,
  toHex,
} from '@ratls/evidence';
import { FixedQuoteProvider } from '@ratls/test-support/quote-fixtures';
import { readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import type { Evidence, QuoteProvider } from '../providers/types.js';
import { x509 } from '../x509.js';
import { buildRaTlsCertificate } from './certificate.js';
import { exportPrivateKeyPem, generateKeyPair } from './keys.js';

const AT = Date.parse('2026-01-15T12:00:00Z');
const clock = () => AT;

function ext(cert: x509.X509Certificate, oid: string): x509.Extension {
  const e = cert.extensions.find((x) => x.type === oid);
  assert.ok(e, `extension ${oid} missing`);
  return e;
}

function extRawPrefix(der: Uint8Array, oidContentHex: string): boolean {
  return toHex(der).includes(oidContentHex);
}

async function rejectsWith(p: Promise<unknown>, cls: new (...a: never[]) => RatlsError, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('buildRaTlsCertificate', { skip: SKIP_NO_VECTORS }, () => {
  test('DICE: claims hash is the report data requested; tag 60000; extension non-critical', async () => {
    const keyPair = await generateKeyPair();
    const provider = new FixedQuoteProvider('sgx');
    const nonce = new Uint8Array([1, 2, 3, 4]);
    const c = await buildRaTlsCertificate({ keyPair, provider, nonce, clock, altNames: ['svc.example', '127.0.0.1'] });
    assert.equal(provider.requested.length, 1);
    const cert = new x509.X509Certificate(c.der);
    const e = ext(cert, '2.23.133.5.4.9');
    assert.equal(e.critical, false);
    const tagged = decodeDiceTaggedEvidence(new Uint8Array(e.value));
    assert.equal(tagged.tag, 60000);
    const claims = decodeDiceClaims(tagged.claims);
    assert.deepEqual(claims.pubkeyHash.hash, spkiHash(keyPair.spkiDer, 1));
    assert.equal(claims.pubkeyHash.alg, 1);
    assert.deepEqual(claims.nonce, nonce);
    const rd = provider.requested[0] as Uint8Array;
    assert.deepEqual(rd.subarray(0, 32), sha256(tagged.claims));
    assert.deepEqual(rd.subarray(32), new Uint8Array(32));
    assert.deepEqual(tagged.evidence.subarray(368, 432), rd);
    assert.deepEqual(new Uint8Array(cert.publicKey.rawData), keyPair.spkiDer);
    assert.equal(c.notAfter.getTime(), AT + 3600_000);
    assert.equal(c.notBefore.getTime(), AT - 60_000);
    const nb = new Date(AT - 1234);
    await buildRaTlsCertificate({ keyPair, provider, clock, notBefore: nb });
    assert.equal(nb.getTime(), AT - 1234, "the caller's notBefore is not mutated");
    assert.ok(await cert.verify({ date: new Date(AT) }), 'self-signature verifies');
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    assert.deepEqual(
      san?.names.toJSON().map((n) => `${n.type}:${n.value}`),
      ['dns:svc.example', 'ip:127.0.0.1'],
    );
  });

  test('DICE over a TDX quote uses tag 60001', async () => {
    const keyPair = await generateKeyPair();
    const c = await buildRaTlsCertificate({ keyPair, provider: new FixedQuoteProvider('tdx'), clock });
    const tagged = decodeDiceTaggedEvidence(
      new Uint8Array(ext(new x509.X509Certificate(c.der), '2.23.133.5.4.9').value),
    );
    assert.equal(tagged.tag, 60001);
  });

  test('Gramine legacy: OID bytes equal the real Gramine certificate, report data = SHA-256(SPKI) ‖ 0', async () => {
    const real = new x509.X509Certificate(readVectorText('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem'));
    const oidTlv = '060b06092a864886f84d8a3906';
    assert.ok(extRawPrefix(new Uint8Array(real.rawData), oidTlv), 'the real Gramine cert carries the mis-encoded OID');
    const keyPair = await generateKeyPair();
    const provider = new FixedQuoteProvider('sgx');
    const c = await buildRaTlsCertificate({ keyPair, provider, format: 'gramine', clock });
    assert.ok(extRawPrefix(c.der, oidTlv), 'our cert carries the same OID bytes');
    const rd = provider.requested[0] as Uint8Array;
    assert.deepEqual(rd.subarray(0, 32), sha256(keyPair.spkiDer));
    assert.deepEqual(rd.subarray(32), new Uint8Array(32));
    const e = ext(new x509.X509Certificate(c.der), '0.6.9.42.840.113741.1337.6');
    assert.equal(e.critical, false);
    assert.deepEqual(new Uint8Array(e.value).subarray(368, 432), rd);
    assert.equal(
      new x509.X509Certificate(c.der).extensions.some((x) => x.type === '2.23.133.5.4.9'),
      false,
    );
  });

  test("'both' asks twice, legacy extension first then DICE, like Gramine", async () => {
    const keyPair = await generateKeyPair('P-384');
    const provider = new FixedQuoteProvider('sgx');
    const c = await buildRaTlsCertificate({ keyPair, provider, format: 'both', clock });
    assert.equal(provider.requested.length, 2);
    assert.deepEqual(
      c.attestations.map((a) => a.format),
      ['gramine', 'dice'],
    );
    const types = new x509.X509Certificate(c.der).extensions.map((x) => x.type);
    assert.ok(types.indexOf('0.6.9.42.840.113741.1337.6') < types.indexOf('2.23.133.5.4.9'));
  });

  test('openssl x509 -text reads the certificate (P-256 and P-384)', async (t) => {
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      t.skip('openssl not installed');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'ratls-cert-'));
    try {
      for (const keyType of ['P-256', 'P-384'] as const) {
        const keyPair = await generateKeyPair(keyType);
        const c = await buildRaTlsCertificate({
          keyPair,
          provider: new FixedQuoteProvider('sgx'),
          format: 'both',
          clock,
          subject: 'svc',
          altNames: ['svc.local'],
        });
        const f = join(dir, `${keyType}.pem`);
        await writeFile(f, c.pem);
        const text = execFileSync('openssl', ['x509', '-in', f, '-text', '-noout'], { encoding: 'utf8' });
        assert.match(text, /Subject: CN ?= ?svc/);
        assert.match(text, keyType === 'P-256' ? /prime256v1|P-256/ : /secp384r1|P-384/);
        assert.match(text, keyType === 'P-256' ? /ecdsa-with-SHA256/ : /ecdsa-with-SHA384/);
        assert.match(text, /2\.23\.133\.5\.4\.9/);
        assert.match(text, /0\.6\.9\.42\.840\.113741\.1337\.6/);
        assert.match(text, /DNS:svc\.local/);
        // The key matches the certificate, as a TLS stack would check.
        const kf = join(dir, `${keyType}.key`);
        await writeFile(kf, exportPrivateKeyPem(keyPair), { mode: 0o600 });
        const pubFromCert = execFileSync('openssl', ['x509', '-in', f, '-pubkey', '-noout'], { encoding: 'utf8' });
        const pubFromKey = execFileSync('openssl', ['pkey', '-in', kf, '-pubout'], { encoding: 'utf8' });
        assert.equal(pubFromCert, pubFromKey);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a provider whose quote ignores the report data is refused', async () => {
    const keyPair = await generateKeyPair();
    await rejectsWith(
      buildRaTlsCertificate({ keyPair, provider: new FixedQuoteProvider('sgx', false), clock }),
      ProviderError,
      'ERR_PROVIDER_REPORT_DATA_MISMATCH',
    );
  });

  test('a provider throwing something untyped becomes ERR_PROVIDER_FAILED', async () => {
    const keyPair = await generateKeyPair();
    const provider: QuoteProvider = {
      name: 'broken',
      tee: 'sgx',
      getEvidence: async () => {
        throw new Error('device gone');
      },
    };
    await rejectsWith(buildRaTlsCertificate({ keyPair, provider, clock }), ProviderError, 'ERR_PROVIDER_FAILED');
  });

  test('Gramine legacy is refused for SEV-SNP and TDX evidence (DICE carries SNP since issue 6)', async () => {
    const keyPair = await generateKeyPair();
    const snp = new FixedQuoteProvider('sev-snp');
    const tdx = new FixedQuoteProvider('tdx');
    await rejectsWith(
      buildRaTlsCertificate({ keyPair, provider: snp, format: 'gramine', clock }),
      CertificateError,
      'ERR_CERT_FORMAT_UNSUPPORTED',
    );
    for (const format of ['gramine', 'both'] as const) {
      await rejectsWith(
        buildRaTlsCertificate({ keyPair, provider: tdx, format, clock }),
        CertificateError,
        'ERR_CERT_FORMAT_UNSUPPORTED',
      );
    }
    assert.equal(snp.requested.length + tdx.requested.length, 0, 'refused before any quote is requested');
  });

  test('option checks', async () => {
    const keyPair = await generateKeyPair();
    const provider = new FixedQuoteProvider('sgx');
    const cases: [Record<string, unknown>, string][] = [
      [{ format: 'oe' }, 'ERR_CONFIG_CERT_FORMAT'],
      [{ validitySeconds: 0 }, 'ERR_CONFIG_VALIDITY'],
      [{ validitySeconds: 1.5 }, 'ERR_CONFIG_VALIDITY'],
      [{ validitySeconds: 31 * 24 * 3600 }, 'ERR_CONFIG_VALIDITY'],
      [{ notBefore: new Date(AT + 7200_000) }, 'ERR_CONFIG_VALIDITY'],
      [{ notBefore: new Date(Number.NaN) }, 'ERR_CONFIG_VALIDITY'],
      [{ nonce: new Uint8Array(65) }, 'ERR_CONFIG_NONCE'],
      [{ nonce: new Uint8Array(0) }, 'ERR_CONFIG_NONCE'],
      [{ nonce: new Uint8Array(8), format: 'gramine' }, 'ERR_CONFIG_NONCE'],
      [{ subject: '' }, 'ERR_CONFIG_SUBJECT'],
      [{ subject: 'x'.repeat(65) }, 'ERR_CONFIG_SUBJECT'],
      [{ altNames: ['bad name'] }, 'ERR_CONFIG_ALT_NAME'],
      [{ altNames: ['a..b'] }, 'ERR_CONFIG_ALT_NAME'],
      [{ altNames: Array.from({ length: 33 }, (_, i) => `h${i}.local`) }, 'ERR_CONFIG_ALT_NAME'],
    ];
    for (const [extra, code] of cases) {
      await rejectsWith(buildRaTlsCertificate({ keyPair, provider, clock, ...extra }), ConfigError, code);
    }
    assert.equal(provider.requested.length, 0, 'no quote is requested for bad options');
  });

  test('round trip: @ratls/evidence extracts both formats and their binding holds', async () => {
    const keyPair = await generateKeyPair();
    const nonce = new Uint8Array([9, 8, 7]);
    const c = await buildRaTlsCertificate({
      keyPair,
      provider: new FixedQuoteProvider('sgx'),
      format: 'both',
      nonce,
      clock,
    });
    const parts = parseRatlsCertificate(c.der);
    assert.deepEqual(parts.spkiDer, keyPair.spkiDer);
    assert.deepEqual(parts.evidence.map((e) => e.format).sort(), ['gramine-legacy', 'tcg-dice']);
    for (const ev of parts.evidence) {
      const out = checkBinding(ev, parts.spkiDer, ev.format === 'tcg-dice' ? { expectedNonce: nonce } : {});
      assert.equal(out.tee, 'sgx');
    }
    const other = await generateKeyPair();
    for (const ev of parts.evidence) {
      assert.throws(() => checkBinding(ev, other.spkiDer), { code: 'ERR_BINDING_MISMATCH' });
    }
  });

  test('provider output checks: empty, wrong TEE, oversized', async () => {
    const keyPair = await generateKeyPair();
    const mk = (tee: 'sgx' | 'tdx', out: () => Evidence): QuoteProvider => ({
      name: 'odd',
      tee,
      getEvidence: async () => out(),
    });
    const big = new Uint8Array(64 * 1024 + 1);
    big[0] = 3;
    const cases: [QuoteProvider, string][] = [
      [mk('sgx', () => ({ tee: 'sgx', evidence: new Uint8Array(0) })), 'ERR_PROVIDER_UNEXPECTED_OUTPUT'],
      [mk('sgx', () => ({ tee: 'sgx' }) as unknown as Evidence), 'ERR_PROVIDER_UNEXPECTED_OUTPUT'],
      [mk('sgx', () => ({ tee: 'tdx', evidence: new Uint8Array(10) })), 'ERR_PROVIDER_TEE_MISMATCH'],
      [mk('sgx', () => ({ tee: 'sgx', evidence: big })), 'ERR_PROVIDER_OUTPUT_TOO_LARGE'],
    ];
    for (const [provider, code] of cases) {
      await rejectsWith(buildRaTlsCertificate({ keyPair, provider, clock }), ProviderError, code);
    }
  });

  test('keyPair and provider must be the real thing', async () => {
    const keyPair = await generateKeyPair();
    const provider = new FixedQuoteProvider('sgx');
    await rejectsWith(
      buildRaTlsCertificate({ keyPair: { ...keyPair } as typeof keyPair, provider, clock }),
      ConfigError,
      'ERR_CONFIG_KEY_PAIR',
    );
    await rejectsWith(
      buildRaTlsCertificate({ keyPair, provider: {} as QuoteProvider, clock }),
      ConfigError,
      'ERR_CONFIG_PROVIDER',
    );
  });
});
