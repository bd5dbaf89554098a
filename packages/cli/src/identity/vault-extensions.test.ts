/**
 * The Vault cert-auth configuration in docs/identities.md matches what the authority issues, read
 * the way Vault's cert auth reads it: each extension value decoded as one ASN.1 string
 * (Go `asn1.Unmarshal` into a string), `required_extensions` entries split at the first `:` and
 * globbed; `hex:<oid>:<hex>` against the whole DER value. Vault itself is not installed here.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { x509 } from '@ratls/attester/x509';
import { derContent, readDer, TAG_UTF8_STRING } from '@ratls/evidence';
import { channelDecision, csrFor } from '@ratls/test-support/identity';
import { REPO_ROOT } from '@ratls/test-support/run-cli';
import { makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { authorityFromFiles, ensureAuthorityFiles } from './authority.js';
import { DEFAULT_FACTS_ARC, factOids } from './facts.js';
import { issueCertificate } from './issue-certificate.js';

const AT = Date.UTC(2026, 5, 1, 12, 0, 0);
const TD = 'prod.example.org';
const dir = mkdtempSync(join(tmpdir(), 'ratls-vault-ext-'));
let enclave: TestCredentials;
let files: { keyPath: string; certPath: string };

before(async () => {
  files = await ensureAuthorityFiles(join(dir, 'ca'), TD, AT - 86_400_000);
  enclave = await makeSelfSigned('enclave', AT - 60_000);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function issued(factsArc?: string): Promise<x509.X509Certificate> {
  const ca = await authorityFromFiles({ ...files, trustDomain: TD, ...(factsArc ? { factsArc } : {}) });
  const out = await issueCertificate(ca, {
    csrDer: await csrFor(enclave),
    peerCertDer: enclave.der,
    decision: channelDecision(enclave),
    at: AT,
  });
  return new x509.X509Certificate(out.certDer);
}

/** go-glob semantics as Vault uses them: `*` matches any run of characters, nothing else is special. */
function glob(pattern: string, s: string): boolean {
  const re = pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${re}$`, 's').test(s);
}

/** Vault's `matchesCertificateExtensions`, with the value read strictly (one UTF8String, nothing after). */
function vaultMatches(cert: x509.X509Certificate, required: string[]): boolean {
  const str = new Map<string, string>();
  const hex = new Map<string, string>();
  for (const e of cert.extensions) {
    const v = new Uint8Array(e.value);
    hex.set(e.type, Buffer.from(v).toString('hex'));
    try {
      str.set(e.type, new TextDecoder('utf-8', { fatal: true }).decode(derContent(v, readDer(v, TAG_UTF8_STRING))));
    } catch {
      str.set(e.type, '');
    }
  }
  return required.every((entry) => {
    const i = entry.indexOf(':');
    if (i < 0) return false;
    const [k, rest] = [entry.slice(0, i), entry.slice(i + 1)];
    if (k === 'hex') {
      const j = rest.indexOf(':');
      const v = hex.get(rest.slice(0, j));
      return j > 0 && v !== undefined && glob(rest.slice(j + 1).toLowerCase(), v);
    }
    const v = str.get(k);
    return v !== undefined && glob(rest, v);
  });
}

function docsSetting(name: string): string {
  const doc = readFileSync(join(REPO_ROOT, 'docs', 'identities.md'), 'utf8');
  const m = new RegExp(`${name}="?([^"\\s\\\\]+)"?`).exec(doc);
  assert.ok(m?.[1], `docs/identities.md has no ${name}`);
  return m[1];
}

test("the docs' required_extensions, allowed_common_names and allowed_uri_sans match an issued certificate", async () => {
  const cert = await issued();
  const required = docsSetting('required_extensions').split(',');
  assert.ok(required.length >= 2);
  assert.ok(vaultMatches(cert, required), `${required.join(',')} does not match`);
  assert.equal(cert.subject, `CN=${docsSetting('allowed_common_names')}`);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items.map((n) => n.value);
  assert.deepEqual(san, [docsSetting('allowed_uri_sans')]);
});

test('attacker-side: a wrong value, a missing OID and a facts arc of someone else do not match', async () => {
  const cert = await issued();
  const o = factOids();
  assert.equal(vaultMatches(cert, [`${o.tee}:tdx`]), false);
  assert.equal(vaultMatches(cert, [`${o.tcbStatus}:OutOfDate`]), false);
  assert.equal(vaultMatches(cert, ['1.3.6.1.4.1.99999.1:sgx']), false);
  // The hex form compares the whole DER value: tag 0c, length 3, "sgx".
  assert.equal(vaultMatches(cert, [`hex:${o.tee}:0c03736778`]), true);
  assert.equal(
    vaultMatches(cert, [`hex:${o.tee}:1303736778`]),
    false,
    'a PrintableString encoding is not what we write',
  );
  assert.equal(vaultMatches(cert, [`${o.measurement}:${'cc'.repeat(32)}`, `${o.policyHash}:${'dd'.repeat(32)}`]), true);
});

test("an operator's own factsArc moves every fact there and leaves none under the default", async () => {
  const arc = '1.3.6.1.4.1.99999.7';
  const cert = await issued(arc);
  assert.ok(vaultMatches(cert, [`${arc}.1:sgx`, `${arc}.4:UpToDate`]));
  assert.equal(
    cert.extensions.some((e) => e.type.startsWith(`${DEFAULT_FACTS_ARC}.`)),
    false,
  );
});
