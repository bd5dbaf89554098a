import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import fc from 'fast-check';
import { crlTimes, MAX_CRL_BYTES, normalizeCrl } from './crl.js';

const code = (c: string) => (e: unknown) => e instanceof RatlsError && e.code === c;
const pem = (der: Uint8Array) =>
  `-----BEGIN X509 CRL-----\n${Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`;

describe('CRL normalization', { skip: SKIP_NO_VECTORS }, () => {
  const der = () => readVector('sgx-dcap/automata/collateral-2025-08/platform_crl.der');

  test('reads thisUpdate/nextUpdate (UTCTime) from the PCK Platform CA CRL', () => {
    const t = crlTimes(der());
    assert.equal(new Date(t.thisUpdate).toISOString(), '2025-08-15T05:41:26.000Z');
    assert.equal(new Date(t.nextUpdate).toISOString(), '2025-09-14T05:41:26.000Z');
  });

  test('Root CA CRL from hex text', () => {
    const hex = readVectorText('intel-pcs-common/automata/intel_sgx_root_ca_crl_2025-03.der.hex');
    const d = normalizeCrl(hex);
    assert.equal(new Date(crlTimes(d).nextUpdate).toISOString(), '2026-04-03T11:21:57.000Z');
    assert.deepEqual(normalizeCrl(new TextEncoder().encode(`${hex}\n`)), d);
  });

  test('DER, PEM and hex give the same DER', () => {
    const d = der();
    assert.deepEqual(normalizeCrl(d), d);
    assert.deepEqual(normalizeCrl(pem(d)), d);
    assert.deepEqual(normalizeCrl(new TextEncoder().encode(pem(d))), d);
    assert.deepEqual(normalizeCrl(Buffer.from(d).toString('hex').toUpperCase()), d);
  });

  test('truncated DER is ERR_COLLATERAL_MALFORMED', () => {
    const d = der();
    assert.throws(() => normalizeCrl(d.subarray(0, d.length - 1)), code('ERR_COLLATERAL_MALFORMED'));
    assert.throws(() => normalizeCrl(d.subarray(0, 40)), code('ERR_COLLATERAL_MALFORMED'));
  });

  test('trailing bytes after the CRL are refused', () => {
    const d = der();
    const x = new Uint8Array(d.length + 1);
    x.set(d);
    assert.throws(() => normalizeCrl(x), code('ERR_COLLATERAL_MALFORMED'));
  });

  test('text that is not PEM or hex is refused', () => {
    assert.throws(() => normalizeCrl('not a crl'), code('ERR_COLLATERAL_MALFORMED'));
    assert.throws(() => normalizeCrl(''), code('ERR_COLLATERAL_MALFORMED'));
    assert.throws(() => normalizeCrl('abc'), code('ERR_COLLATERAL_MALFORMED'));
  });

  test('a CRL without nextUpdate is refused', () => {
    // SEQUENCE { SEQUENCE { SEQUENCE{} alg, SEQUENCE{} issuer, UTCTime thisUpdate } }
    const t = Buffer.from('250101000000Z', 'latin1');
    const tbs = Buffer.concat([Buffer.from([0x30, 0, 0x30, 0, 0x17, t.length]), t]);
    const crl = Buffer.concat([Buffer.from([0x30, tbs.length + 2, 0x30, tbs.length]), tbs]);
    assert.throws(() => normalizeCrl(new Uint8Array(crl)), code('ERR_COLLATERAL_MALFORMED'));
  });

  test('oversized input is ERR_COLLATERAL_TOO_LARGE', () => {
    const big = new Uint8Array(MAX_CRL_BYTES + 16);
    big[0] = 0x30;
    assert.throws(() => normalizeCrl(big), code('ERR_COLLATERAL_TOO_LARGE'));
  });

  test('mutated bytes never throw untyped errors', () => {
    const d = der();
    fc.assert(
      fc.property(fc.nat(d.length - 1), fc.nat(255), fc.nat(d.length), (i, v, cut) => {
        const m = new Uint8Array(d.subarray(0, cut));
        if (i < m.length) m[i] = v;
        try {
          normalizeCrl(m);
        } catch (e) {
          assert.ok(e instanceof RatlsError, String(e));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
