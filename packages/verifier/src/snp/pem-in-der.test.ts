/**
 * Regression for finding 4 (SEV-SNP VCEK parser differential): a certificate whose outer DER
 * declares one TCB and carries a genuine VCEK of another TCB as PEM text inside an extension.
 * `new X509Certificate(Buffer)` reads the PEM first, so the signature key came from the inner
 * certificate while the TCB check read the outer one. Both paths must refuse it now.
 */
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { encodeSnpCertTable, RatlsError, SNP_CERT_GUIDS, writePem } from '@ratls/evidence';
import { simAmd, simReport, simVcek } from '@ratls/test-support/snp-testkit';
import { x509 } from '@ratls/test-support/x509';
import { verifySnpReport } from './verify.js';

const int = (n: number): ArrayBuffer => new Uint8Array([0x02, 0x01, n]).buffer;
const ia5 = (s: string): ArrayBuffer => new Uint8Array([0x16, s.length, ...Buffer.from(s, 'latin1')]).buffer;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RatlsError, String(e));
    return e.code;
  }
  return 'accepted';
}

test('finding 4: a VCEK declaring the reported TCB around a genuine old-TCB VCEK as PEM is refused', async () => {
  const amd = await simAmd('Milan');
  const chipId = new Uint8Array(64).fill(0x42);
  const oldTcb = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
  const newTcb = { ...oldTcb, snp: 22 };
  const genuine = await simVcek(amd, { tcb: oldTcb, chipId });
  // The report claims the new TCB and is signed by the genuine (old-TCB) VCEK key.
  const report = await simReport(genuine, { tcb: newTcb, chipId });
  const attackerKeys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
    'sign',
    'verify',
  ]);
  const ask = new x509.X509Certificate(amd.askDer);
  const outer = await x509.X509CertificateGenerator.create({
    serialNumber: '01',
    subject: 'CN=SEV-VCEK, OU=Engineering, O=Advanced Micro Devices',
    issuer: ask.subject,
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-01T00:00:00Z'),
    publicKey: attackerKeys.publicKey,
    signingKey: attackerKeys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    extensions: [
      new x509.Extension('1.3.6.1.4.1.3704.1.2', false, ia5('Milan-B0')),
      new x509.Extension('1.3.6.1.4.1.3704.1.3.1', false, int(newTcb.bootloader)),
      new x509.Extension('1.3.6.1.4.1.3704.1.3.2', false, int(newTcb.tee)),
      new x509.Extension('1.3.6.1.4.1.3704.1.3.3', false, int(newTcb.snp)),
      new x509.Extension('1.3.6.1.4.1.3704.1.3.8', false, int(newTcb.microcode)),
      new x509.Extension('1.3.6.1.4.1.3704.1.4', false, new Uint8Array(chipId).buffer),
      new x509.Extension(
        '1.3.6.1.4.1.55555.1',
        false,
        new TextEncoder().encode(`\n${writePem(genuine.der, 'CERTIFICATE')}`).buffer,
      ),
    ],
  });
  const forged = new Uint8Array(outer.rawData);
  // The attack's premise, as Node behaves: a Buffer of the outer DER parses as the inner VCEK.
  assert.deepEqual(new Uint8Array(new X509Certificate(Buffer.from(forged)).raw), genuine.der);

  const at = Date.parse('2025-01-01T00:00:00Z') / 1000;
  const trustAnchors = [amd.arkDer];
  // Sanity: the genuine VCEK with its own TCB in the report verifies.
  const honest = await simReport(genuine, { tcb: oldTcb, chipId });
  assert.equal(
    (await verifySnpReport(honest, { at, vcek: genuine.der, chain: amd.chainPem, trustAnchors })).tee,
    'sev-snp',
  );

  // --vcek path: the outer certificate is the one chain-checked, and the ASK did not sign it.
  assert.equal(
    await code(verifySnpReport(report, { at, vcek: forged, chain: amd.chainPem, trustAnchors })),
    'ERR_SNP_VCEK_SIGNATURE',
  );
  // The peer's own certificate table (the gateway path).
  const aux = encodeSnpCertTable([
    { guid: SNP_CERT_GUIDS.vcek, data: forged },
    { guid: SNP_CERT_GUIDS.ask, data: amd.askDer },
    { guid: SNP_CERT_GUIDS.ark, data: amd.arkDer },
  ]);
  assert.equal(await code(verifySnpReport(report, { at, aux, trustAnchors })), 'ERR_SNP_VCEK_SIGNATURE');
  // And the genuine VCEK against the new-TCB report: the TCB check refuses it.
  assert.equal(
    await code(verifySnpReport(report, { at, vcek: genuine.der, chain: amd.chainPem, trustAnchors })),
    'ERR_SNP_TCB_MISMATCH',
  );
});
