import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { awsNitroRootG1 } from './nitro/root.js';
import { amdArkAnchors } from './snp/verify.js';
import { intelSgxRootCa, toTrustAnchors } from './trust.js';
import { resolveTrustStore, trustStore, trustStoreFrom } from './trust-store.js';

const codeOf = (f: () => unknown): string => {
  try {
    f();
    return 'no error';
  } catch (e) {
    return (e as { code?: string }).code ?? String(e);
  }
};

describe('trust store', () => {
  test('a vendor left out gets its real production roots, none simulated', () => {
    const t = trustStore();
    assert.deepEqual(
      t.intel.map((a) => a.sha256),
      [intelSgxRootCa().sha256],
    );
    assert.deepEqual(t.aws, [awsNitroRootG1()]);
    assert.deepEqual(t.amd, amdArkAnchors());
    assert.ok([...t.intel, ...t.amd, ...t.aws].every((a) => !a.simulated));
  });

  test('given roots replace the defaults for that vendor only; an empty Intel list trusts nothing', () => {
    const t = trustStore({ aws: [intelSgxRootCa()], intel: [] });
    assert.deepEqual(t.aws, [intelSgxRootCa()]);
    assert.deepEqual(t.intel, []);
    assert.deepEqual(t.amd, amdArkAnchors());
  });

  test('PEM and DER convert at the edge; a non-certificate is ERR_TRUST_ANCHOR_INVALID', () => {
    const der = intelSgxRootCa().der;
    const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64')}\n-----END CERTIFICATE-----\n`;
    const t = trustStoreFrom({ intel: [pem], aws: [der] });
    assert.equal(t.intel[0]?.sha256, intelSgxRootCa().sha256);
    assert.equal(t.aws[0]?.sha256, intelSgxRootCa().sha256);
    assert.equal(
      codeOf(() => trustStoreFrom({ amd: [new Uint8Array([0x30, 0x00])] })),
      'ERR_TRUST_ANCHOR_INVALID',
    );
    assert.equal(
      codeOf(() => toTrustAnchors(['not a pem'])),
      'ERR_TRUST_ANCHOR_INVALID',
    );
  });

  test('resolveTrustStore: `trust` first, then the older per-vendor option names', () => {
    const intel = intelSgxRootCa();
    const older = resolveTrustStore({
      trustAnchors: [],
      snp: { trustAnchors: [intel.der] },
      nitroTrustAnchors: [intel],
    });
    assert.deepEqual(older.intel, []);
    assert.equal(older.amd[0]?.sha256, intel.sha256);
    assert.deepEqual(older.aws, [intel]);
    const both = resolveTrustStore({ trust: { aws: [awsNitroRootG1()] }, nitroTrustAnchors: [intel] });
    assert.deepEqual(both.aws, [awsNitroRootG1()]);
  });
});
