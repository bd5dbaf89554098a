import assert from 'node:assert/strict';
import { createHash, webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  concatBytes,
  type DiceEndorsements,
  decodeDiceEndorsements,
  decodeDiceTaggedEvidence,
  encodeDiceEndorsements,
  fromHex,
  OID_DICE_ENDORSEMENTS,
  OID_DICE_TAGGED_EVIDENCE,
  OID_GRAMINE_QUOTE,
  OID_GRAMINE_QUOTE_MISENCODED,
  RatlsError,
} from '@ratls/evidence';
import { readVectorJson, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { x509 } from '@ratls/test-support/x509';
import { collateralFromJson } from '../collateral/json.js';
import type { QuoteCollateralV3Json } from '../collateral/types.js';
import { verifyQuote } from '../dcap/verify-quote.js';
import { collateralFromEndorsements } from './endorsements.js';
import { pemCertificates } from './input.js';
import { verifyCertificate } from './verify-certificate.js';

const skip = SKIP_NO_VECTORS;
const AT = 1756530546;
const te = (s: string) => new TextEncoder().encode(s);

function endorsementsFrom(j: QuoteCollateralV3Json): DiceEndorsements {
  return {
    tag: 60000,
    version: 1,
    tcbInfo: te(`{"tcbInfo":${j.tcb_info},"signature":"${j.tcb_info_signature}"}`),
    tcbInfoIssuerChain: te(j.tcb_info_issuer_chain),
    pckCrl: fromHex(j.pck_crl),
    rootCaCrl: fromHex(j.root_ca_crl),
    pckCrlIssuerChain: te(j.pck_crl_issuer_chain),
    qeIdentity: te(`{"enclaveIdentity":${j.qe_identity},"signature":"${j.qe_identity_signature}"}`),
    qeIdentityIssuerChain: te(j.qe_identity_issuer_chain),
    creationDatetime: te('2025-08-20T00:00:00Z'),
  };
}

describe('certificate endorsements as collateral', () => {
  test('endorsements built from real collateral give the same collateral and verify the Gramine quote', {
    skip,
  }, async () => {
    const j = readVectorJson<QuoteCollateralV3Json>('dcap-cases/auto_sgx_2025-08.collateral.json');
    const c = collateralFromEndorsements(decodeDiceEndorsements(encodeDiceEndorsements(endorsementsFrom(j))));
    assert.deepEqual(c, collateralFromJson(j));
    const cert = new x509.X509Certificate(
      pemCertificates(readVectorText('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem'))[0] as Uint8Array,
    );
    const ext = cert.getExtension(OID_DICE_TAGGED_EVIDENCE);
    assert.ok(ext);
    const { evidence } = decodeDiceTaggedEvidence(new Uint8Array(ext.value));
    const r = await verifyQuote(evidence, c, { at: AT });
    assert.equal(r.tcbStatus, 'OutOfDate');
  });

  test('verifyCertificate uses them only when asked', { skip }, async () => {
    const j = readVectorJson<QuoteCollateralV3Json>('dcap-cases/auto_sgx_2025-08.collateral.json');
    const gramine = new x509.X509Certificate(
      pemCertificates(readVectorText('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem'))[0] as Uint8Array,
    );
    const legacy = new Uint8Array((gramine.getExtension(OID_GRAMINE_QUOTE_MISENCODED) as x509.Extension).value);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const spki = new Uint8Array(await webcrypto.subtle.exportKey('spki', keys.publicKey));
    // The real quote re-pointed at this key: binding holds, the quote signature no longer does.
    const quote = legacy.slice();
    quote.set(concatBytes(new Uint8Array(createHash('sha256').update(spki).digest()), new Uint8Array(32)), 368);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '03',
      name: 'CN=endorsed',
      notBefore: new Date('2020-01-01T00:00:00Z'),
      notAfter: new Date('2040-01-01T00:00:00Z'),
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.Extension(OID_GRAMINE_QUOTE, false, quote),
        new x509.Extension(OID_DICE_ENDORSEMENTS, false, encodeDiceEndorsements(endorsementsFrom(j))),
      ],
    });
    const der = new Uint8Array(cert.rawData);
    const code = async (o: { useCertificateEndorsements?: boolean }) => {
      try {
        await verifyCertificate(der, { at: AT, ...o });
        return 'no error';
      } catch (e) {
        assert.ok(e instanceof RatlsError);
        return e.code;
      }
    };
    assert.equal(await code({}), 'ERR_COLLATERAL_REQUIRED');
    // With endorsements the appraisal runs through the PCK chain and collateral to the quote signature.
    assert.equal(await code({ useCertificateEndorsements: true }), 'ERR_QUOTE_SIGNATURE');
  });
});
