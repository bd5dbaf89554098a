/**
 * SNP chain roles: each of ARK, ASK/ASVK and VCEK/VLEK only in its own position. AMD's real ARK and
 * ASK (built in) and the simulated AMD hierarchy supply certificates that are valid where they
 * belong and must be refused elsewhere.
 */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import { simAmd, simVcek } from '@ratls/test-support/snp-testkit';
import { x509 } from '@ratls/test-support/x509';
import { trustAnchorFrom } from '../trust.js';
import { type SnpChainOptions, verifySnpChain } from './chain.js';
import { amdArkDer, amdIntermediateDer } from './roots.js';

const AT = Date.parse('2025-06-01T00:00:00Z') / 1000;
const TCB = { bootloader: 3, tee: 0, snp: 8, microcode: 115 };
const PSS = { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 } as const;

const opts = (ark: Uint8Array): SnpChainOptions => ({ at: AT, anchors: [trustAnchorFrom(ark)], signingKey: 'vcek' });

function refuses(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    const err = e as { code?: string; message?: string };
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('SNP chain roles', () => {
  test('the simulated VCEK ← ASK ← ARK is accepted', async () => {
    const amd = await simAmd();
    const vcek = await simVcek(amd, { tcb: TCB });
    const r = verifySnpChain(
      { leaf: vcek.der, intermediate: amd.askDer, root: amd.arkDer },
      { at: AT, anchors: [trustAnchorFrom(amd.arkDer)], signingKey: 'vcek' },
    );
    assert.equal(r.product, 'Milan');
  });

  test('the ARK in the ASK position (self-signed) → ERR_SNP_CHAIN_ROLE', async () => {
    const amd = await simAmd();
    const vcek = await simVcek(amd, { tcb: TCB });
    const o = opts(amd.arkDer);
    refuses(
      () => verifySnpChain({ leaf: vcek.der, intermediate: amd.arkDer, root: amd.arkDer }, o),
      'ERR_SNP_CHAIN_ROLE',
    );
  });

  test("AMD's real ARK-Milan in the ASK position → ERR_SNP_CHAIN_ROLE", () => {
    const ark = amdArkDer('Milan');
    const o = opts(ark);
    refuses(
      () => verifySnpChain({ leaf: amdIntermediateDer('Milan', 'vcek'), intermediate: ark, root: ark }, o),
      'ERR_SNP_CHAIN_ROLE',
    );
  });

  test("AMD's real ASK (a CA) in the VCEK position → ERR_SNP_CHAIN_ROLE", () => {
    const ark = amdArkDer('Milan');
    const ask = amdIntermediateDer('Milan', 'vcek');
    const o = opts(ark);
    refuses(() => verifySnpChain({ leaf: ask, intermediate: ask, root: ark }, o), 'ERR_SNP_CHAIN_ROLE');
  });

  test('a VCEK in the ASK position (not a CA) → ERR_SNP_CHAIN_ROLE', async () => {
    const amd = await simAmd();
    const vcek = await simVcek(amd, { tcb: TCB });
    const o = opts(amd.arkDer);
    refuses(
      () => verifySnpChain({ leaf: vcek.der, intermediate: vcek.der, root: amd.arkDer }, o),
      'ERR_SNP_CHAIN_ROLE',
    );
  });

  test('a VCEK that is a CA (signed by the real ASK key of its hierarchy) → ERR_SNP_CHAIN_ROLE', async () => {
    const amd = await simAmd();
    const good = new x509.X509Certificate((await simVcek(amd, { tcb: TCB })).der);
    const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const caVcek = await x509.X509CertificateGenerator.create({
      serialNumber: '05',
      subject: good.subject,
      issuer: good.issuer,
      notBefore: good.notBefore,
      notAfter: good.notAfter,
      publicKey: keys.publicKey,
      signingKey: amd.askKeys.privateKey,
      signingAlgorithm: PSS,
      extensions: [...good.extensions, new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const o = opts(amd.arkDer);
    refuses(
      () => verifySnpChain({ leaf: new Uint8Array(caVcek.rawData), intermediate: amd.askDer, root: amd.arkDer }, o),
      'ERR_SNP_CHAIN_ROLE',
    );
  });
});
