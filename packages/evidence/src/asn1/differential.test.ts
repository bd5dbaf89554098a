/**
 * Differential: every certificate in the shared vectors, read by the strict stack and by Node's
 * parser (through `nodeCertificateFromDer`, with @peculiar/x509 as a third reader for the fields
 * Node does not expose: extensions and signature bytes). They must agree field by field.
 */
import assert from 'node:assert/strict';
import { createHash, verify as cryptoVerify } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { readVector, readVectorJson, readVectorText, SKIP_NO_VECTORS, VECTORS_DIR } from '@ratls/test-support/vectors';
import { x509 } from '@ratls/test-support/x509';
import { nodeCertificateFromDer } from '../node-x509.js';
import { parseQuote } from '../quote/index.js';
import { parseCrlDer } from './crl.js';
import { readPem } from './pem.js';
import { parseX509 } from './x509.js';

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [relative(VECTORS_DIR, join(dir, e.name))],
  );
}

const hex = (b: Uint8Array | ArrayBuffer): string =>
  Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : b).toString('hex');
const trimHex = (h: string): string => h.toLowerCase().replace(/^0+/, '') || '0';

/** Every certificate DER in the vectors, named by where it came from. */
function vectorCertificates(): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const add = (name: string, der: Uint8Array): void => {
    out.set(`${name} ${createHash('sha256').update(der).digest('hex').slice(0, 8)}`, der);
  };
  const files = walk(VECTORS_DIR);
  for (const f of files) {
    if (/crl/i.test(f)) continue;
    if (/\.(der|crt|cer|testcer)$/.test(f)) add(f, readVector(f));
    else if (f.endsWith('.der.hex')) add(f, new Uint8Array(Buffer.from(readVectorText(f).trim(), 'hex')));
    else if (f.endsWith('.pem'))
      for (const [i, d] of readPem(readVectorText(f), { label: 'CERTIFICATE' }).entries()) add(`${f}[${i}]`, d);
  }
  for (const f of files.filter((x) => x.startsWith('dcap-cases/') && x.endsWith('.collateral.json'))) {
    const c = readVectorJson<Record<string, unknown>>(f);
    for (const [k, v] of Object.entries(c)) {
      if (k.endsWith('issuer_chain') && typeof v === 'string') {
        for (const [i, d] of readPem(v, { label: 'CERTIFICATE' }).entries()) add(`${f}:${k}[${i}]`, d);
      }
    }
  }
  for (const f of files.filter((x) => x.startsWith('dcap-cases/') && x.endsWith('.quote.bin'))) {
    const text = parseQuote(readVector(f)).signatureData.pckChainPem;
    if (text === undefined) continue;
    for (const [i, d] of readPem(text, { label: 'CERTIFICATE' }).entries()) add(`${f}:pck[${i}]`, d);
  }
  return out;
}

test('differential: strict stack and Node agree on every vector certificate', { skip: SKIP_NO_VECTORS }, () => {
  const certs = vectorCertificates();
  assert.ok(certs.size >= 40, `only ${certs.size} certificates found`);
  const bySubject = new Map<string, ReturnType<typeof nodeCertificateFromDer>>();
  for (const der of certs.values()) {
    const n = nodeCertificateFromDer(der);
    bySubject.set(hex(parseX509(der).subjectRaw), n);
  }
  let signaturesChecked = 0;
  for (const [name, der] of certs) {
    const s = parseX509(der);
    const n = nodeCertificateFromDer(der);
    const p = new x509.X509Certificate(der);
    const m = `${name}`;
    assert.equal(hex(s.spki), hex(n.publicKey.export({ type: 'spki', format: 'der' })), `${m}: SPKI`);
    assert.equal(hex(s.spki), hex(p.publicKey.rawData), `${m}: SPKI (peculiar)`);
    assert.equal(trimHex(s.serialHex), trimHex(n.serialNumber), `${m}: serial`);
    assert.equal(s.notBefore, Date.parse(n.validFrom) / 1000, `${m}: notBefore`);
    assert.equal(s.notAfter, Date.parse(n.validTo) / 1000, `${m}: notAfter`);
    assert.equal(s.isCa, n.ca, `${m}: basicConstraints cA`);
    assert.equal(hex(s.signature), hex(p.signature), `${m}: signature bytes`);
    assert.deepEqual(
      s.extensionList.map((e) => [e.oid, e.critical, hex(e.value)]),
      [...p.extensions].map((e) => [e.type, e.critical, hex(e.value)]),
      `${m}: extensions`,
    );
    // The signature bytes and TBS the stack returns are the ones Node verifies.
    const issuer = bySubject.get(hex(s.issuerRaw));
    if (issuer && n.checkIssued(issuer) && s.signatureAlgorithm.startsWith('1.2.840.10045.4.3.')) {
      const hash = { '2': 'sha256', '3': 'sha384', '4': 'sha512' }[s.signatureAlgorithm.slice(-1)] as string;
      assert.equal(
        cryptoVerify(hash, s.tbs, issuer.publicKey, s.signature),
        n.verify(issuer.publicKey),
        `${m}: verify`,
      );
      signaturesChecked++;
    }
  }
  assert.ok(signaturesChecked >= 20, `only ${signaturesChecked} ECDSA signatures cross-checked`);
});

test('differential: every vector CRL parses strictly', { skip: SKIP_NO_VECTORS }, () => {
  const files = walk(VECTORS_DIR).filter((f) => /crl/i.test(f) && /\.(der|der\.hex)$/.test(f));
  const ders = files.map((f) =>
    f.endsWith('.hex') ? new Uint8Array(Buffer.from(readVectorText(f).trim(), 'hex')) : readVector(f),
  );
  for (const f of walk(VECTORS_DIR).filter((x) => x.startsWith('dcap-cases/') && x.endsWith('.collateral.json'))) {
    const c = readVectorJson<Record<string, unknown>>(f);
    for (const k of ['pck_crl', 'root_ca_crl']) {
      if (typeof c[k] === 'string') ders.push(new Uint8Array(Buffer.from(c[k] as string, 'hex')));
    }
  }
  assert.ok(ders.length >= 6);
  for (const d of ders) {
    const crl = parseCrlDer(d);
    assert.ok(crl.nextUpdate !== undefined && crl.nextUpdate > crl.thisUpdate);
  }
});
