import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSnpReport, RatlsError } from '@ratls/evidence';
import { type PcsServer, startKdsServer } from '@ratls/test-support/pcs-server';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { KdsCollateralSource } from './kds.js';
import { verifySnpReport } from './verify.js';

const GO = 'sev-snp/google-go-sev-guest/';
const AT = Date.parse('2022-09-24T01:00:00Z') / 1000;
const code = (c: string) => (e: unknown) => e instanceof RatlsError && e.code === c;

async function withKds<T>(fn: (s: PcsServer, vcekPath: string) => Promise<T>): Promise<T> {
  const report = parseSnpReport(readVector(`${GO}attestation.bin`));
  const hwid = Buffer.from(report.chipId).toString('hex');
  const vcekPath = `/vcek/v1/Milan/${hwid}?blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68`;
  const s = await startKdsServer({
    [vcekPath]: { body: readVector(`${GO}vcek.testcer`), contentType: 'application/x-x509-ca-cert' },
    '/vcek/v1/Milan/cert_chain': { body: readVectorText('roots/amd/ask_ark_milan.pem'), contentType: 'text/plain' },
  });
  try {
    return await fn(s, vcekPath);
  } finally {
    await s.close();
  }
}

test('kds: 100 concurrent cold appraisals make one VCEK and one chain request', { skip: SKIP_NO_VECTORS }, () =>
  withKds(async (s) => {
    const kds = new KdsCollateralSource(s.url, { timeoutMs: 5000 });
    const report = readVector(`${GO}attestation.bin`);
    const all = await Promise.all(
      Array.from({ length: 100 }, () => verifySnpReport(report, { at: AT, kds, product: 'Milan' })),
    );
    assert.equal(all.length, 100);
    assert.equal(s.count('/vcek/v1/Milan/cert_chain'), 1);
    assert.equal(s.count('SPL='), 1);
    assert.equal(kds.status().fetches, 2);
    assert.ok(kds.status().coalesced >= 1);
  }),
);

test('kds: a 429 backs off for its Retry-After; VCEK requests are spaced per host', { skip: SKIP_NO_VECTORS }, () =>
  withKds(async (s) => {
    let now = 1_700_000_000_000;
    s.override = (_q, res) => {
      res.writeHead(429, { 'retry-after': '30' }).end();
      return true;
    };
    const kds = new KdsCollateralSource(s.url, { timeoutMs: 5000, clock: () => now, vcekThrottle: { maxWaitMs: 0 } });
    const report = readVector(`${GO}attestation.bin`);
    const chipId = parseSnpReport(report).chipId;
    const tcb = { bootloader: 2, tee: 0, snp: 5, microcode: 68, raw: new Uint8Array(8) };
    await assert.rejects(kds.getVcek({ product: 'Milan', chipId, tcb }), code('ERR_COLLATERAL_RATE_LIMITED'));
    assert.equal(s.hits.length, 1);
    now += 20_000;
    await assert.rejects(kds.getVcek({ product: 'Milan', chipId, tcb }), code('ERR_COLLATERAL_RATE_LIMITED'));
    assert.equal(s.hits.length, 1, 'inside Retry-After: nothing sent');
    s.override = undefined;
    now += 11_000;
    assert.ok((await kds.getVcek({ product: 'Milan', chipId, tcb })).length > 0);
    assert.equal(s.hits.length, 2);
    // Another chip right away: the 10 s VCEK budget per host is spent; refused locally.
    const other = new Uint8Array(64).fill(7);
    await assert.rejects(kds.getVcek({ product: 'Milan', chipId: other, tcb }), code('ERR_COLLATERAL_RATE_LIMITED'));
    assert.equal(s.hits.length, 2);
    assert.equal(kds.status().vcek.rateLimited, 1);
  }),
);
