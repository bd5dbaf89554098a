import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parseSnpReport, RatlsError } from '@ratls/evidence';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { KdsCollateralSource } from './kds.js';
import { verifySnpReport } from './verify.js';

const GO = 'sev-snp/google-go-sev-guest/';
const AT = Date.parse('2022-09-24T01:00:00Z') / 1000;

let server: Server;
let base = '';
const hits: string[] = [];
let hang = false;

before(async () => {
  if (SKIP_NO_VECTORS) return;
  const report = parseSnpReport(readVector(`${GO}attestation.bin`));
  const hwid = Buffer.from(report.chipId).toString('hex');
  const vcekPath = `/vcek/v1/Milan/${hwid}?blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68`;
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    if (hang) return; // never answers: the client's timeout must fire
    if (req.url === vcekPath) {
      res.writeHead(200, { 'content-type': 'application/x-x509-ca-cert' });
      res.end(Buffer.from(readVector(`${GO}vcek.testcer`)));
    } else if (req.url === '/vcek/v1/Milan/cert_chain') {
      res.writeHead(200, { 'content-type': 'application/x-pem-file' });
      res.end(readVectorText('roots/amd/ask_ark_milan.pem'));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});

test('kds: VCEK and chain fetched from a loopback KDS, then cached in memory and on disk', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ratls-kds-'));
  try {
    hits.length = 0;
    const kds = new KdsCollateralSource(base, { timeoutMs: 2000, cacheDir: dir });
    const report = readVector(`${GO}attestation.bin`);
    const r = await verifySnpReport(report, { at: AT, kds, product: 'Milan' });
    assert.deepEqual(r.measurements.reportedTcb, { bootloader: 2, tee: 0, snp: 5, microcode: 68 });
    assert.equal(hits.length, 2);
    await verifySnpReport(report, { at: AT, kds, product: 'Milan' });
    assert.equal(hits.length, 2, 'second appraisal must be served from the cache');
    assert.equal(readdirSync(dir).filter((f) => f.startsWith('kds-')).length, 2);
    const fresh = new KdsCollateralSource(base, { timeoutMs: 2000, cacheDir: dir });
    await verifySnpReport(report, { at: AT, kds: fresh, product: 'Milan' });
    assert.equal(hits.length, 2, 'a new source reads the disk cache');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kds: errors are typed (404, timeout, missing product)', { skip: SKIP_NO_VECTORS }, async () => {
  const kds = new KdsCollateralSource(base, { timeoutMs: 300 });
  await assert.rejects(
    kds.getCertChain('Genoa', 'vcek'),
    (e) => e instanceof RatlsError && e.code === 'ERR_COLLATERAL_NOT_FOUND',
  );
  await assert.rejects(
    kds.getCrl('Milan', 'vcek'),
    (e) => e instanceof RatlsError && e.code === 'ERR_COLLATERAL_NOT_FOUND',
  );
  // A v2 report names no product: without one there is nothing to ask KDS for.
  await assert.rejects(
    verifySnpReport(readVector(`${GO}attestation.bin`), { at: AT, kds }),
    (e) => e instanceof RatlsError && e.code === 'ERR_SNP_COLLATERAL_MISSING',
  );
  hang = true;
  try {
    await assert.rejects(
      kds.getCertChain('Turin', 'vlek'),
      (e) => e instanceof RatlsError && e.code === 'ERR_COLLATERAL_TIMEOUT',
    );
  } finally {
    hang = false;
  }
});

test('kds: VCEK URL shape (Milan 64-byte hwid, Turin 8-byte hwid with fmcSPL)', () => {
  const kds = new KdsCollateralSource('https://kds.example/');
  const chipId = new Uint8Array(64).fill(0xab);
  const raw = new Uint8Array(8);
  assert.equal(
    kds.vcekUrl({ product: 'Milan', chipId, tcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115, raw } }),
    `https://kds.example/vcek/v1/Milan/${'ab'.repeat(64)}?blSPL=03&teeSPL=00&snpSPL=08&ucodeSPL=115`,
  );
  assert.equal(
    kds.vcekUrl({ product: 'Turin', chipId, tcb: { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5, raw } }),
    `https://kds.example/vcek/v1/Turin/${'ab'.repeat(8)}?fmcSPL=01&blSPL=02&teeSPL=03&snpSPL=04&ucodeSPL=05`,
  );
});
