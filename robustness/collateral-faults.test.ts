/**
 * Collateral faults through a real HTTP PCCS stand-in on 127.0.0.1 (the verifier's test PCS
 * server): unreachable, slow, 500, truncated, wrong issuer chain, another FMSPC, expired,
 * revoked PCK. Each goes through createQuoteVerifier or verifyCertificate with a
 * PccsCollateralSource; nothing is accepted without fully verified collateral, the cache serves
 * until nextUpdate and not after, and verification recovers when the PCCS does.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildRaTlsCertificate, generateKeyPair } from '@ratls/attester';
import { parseQuote, RatlsError } from '@ratls/evidence';
import { buildCollateral, initSimulation, revokePckSerial, type SimState, SimulatedQuoteProvider } from '@ratls/sim';
import { fixtureFromCase, type PcsServer, startPcsServer } from '@ratls/test-support/pcs-server';
import {
  createQuoteVerifier,
  PccsCollateralSource,
  type QuoteCollateralV3Json,
  type TrustAnchor,
  trustAnchorFrom,
  verifyCertificate,
} from '@ratls/verifier';

const SIM_AT = Date.parse('2026-03-01T12:00:00Z');
const AT = SIM_AT / 1000 + 600;
const DAY = 86400;
/** The slow-PCCS case's timeout; every other source gets a generous one (CI machines are shared). */
const TIMEOUT_MS = 300;
const NORMAL_TIMEOUT_MS = 10_000;

let dir: string;
let sim: SimState;
let anchors: TrustAnchor[];
let quote: Uint8Array;
let certDer: Uint8Array;
let good: QuoteCollateralV3Json;
let server: PcsServer;
let now = SIM_AT;

/** A source with the test's clock (the sim lives in 2026-03, not today). */
const source = (url = server.url, o: { timeoutMs?: number; retryAfterMs?: number } = {}) =>
  new PccsCollateralSource(url, {
    timeoutMs: o.timeoutMs ?? NORMAL_TIMEOUT_MS,
    clock: () => now,
    retryAfterMs: o.retryAfterMs ?? 1,
  });

function verifier(src: PccsCollateralSource) {
  return createQuoteVerifier({ collateralSource: src, trustAnchors: anchors });
}

/** Must refuse with a RatlsError (and, when given, one of `codes`). */
async function refused(p: Promise<unknown>, codes?: string[]): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RatlsError, `untyped: ${String(e)}`);
    if (codes) assert.ok(codes.includes(e.code), `${e.code} not in ${codes.join(', ')}: ${e.message}`);
    return e.code;
  }
  assert.fail('accepted without fully verified collateral');
}

async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-faults-'));
  sim = await initSimulation(dir, { at: new Date(SIM_AT) });
  anchors = [trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'))];
  const provider = new SimulatedQuoteProvider(sim, { tee: 'sgx' });
  const keyPair = await generateKeyPair();
  const cert = await buildRaTlsCertificate({ keyPair, provider, clock: () => SIM_AT });
  certDer = cert.der;
  quote = cert.attestations[0]?.evidence.evidence as Uint8Array;
  good = JSON.parse(await readFile(join(dir, 'collateral.json'), 'utf8')) as QuoteCollateralV3Json;
  server = await startPcsServer([fixtureFromCase(good)]);
});

after(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('collateral faults (PCCS on 127.0.0.1)', () => {
  test('baseline: a good PCCS verifies the quote and the certificate', async () => {
    server.override = undefined;
    const r = await verifier(source()).verify(quote, { at: AT });
    assert.equal(r.tcbStatus, 'UpToDate');
    const v = await verifyCertificate(certDer, { at: AT, trustAnchors: anchors, collateralSource: source() });
    assert.equal(v.result.tee, 'sgx');
  });

  test('unreachable PCCS: refused', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    await refused(verifier(source(url)).verify(quote, { at: AT }), ['ERR_COLLATERAL_UNREACHABLE']);
    await refused(verifyCertificate(certDer, { at: AT, trustAnchors: anchors, collateralSource: source(url) }));
  });

  test('slow PCCS beyond the timeout: refused, within the timeout bound', async () => {
    const pending: NodeJS.Timeout[] = [];
    server.override = (_req, res) => {
      pending.push(setTimeout(() => res.destroy(), 5_000));
      return true;
    };
    const t0 = performance.now();
    await refused(verifier(source(server.url, { timeoutMs: TIMEOUT_MS })).verify(quote, { at: AT }), [
      'ERR_COLLATERAL_TIMEOUT',
    ]);
    const ms = performance.now() - t0;
    for (const t of pending) clearTimeout(t);
    server.override = undefined;
    assert.ok(ms < TIMEOUT_MS * 4 + 500, `took ${ms.toFixed(0)} ms for a ${TIMEOUT_MS} ms timeout`);
  });

  test('HTTP 500: refused', async () => {
    server.override = (_req, res) => {
      res.writeHead(500).end('internal error');
      return true;
    };
    await refused(verifier(source()).verify(quote, { at: AT }), ['ERR_COLLATERAL_HTTP']);
    server.override = undefined;
  });

  test('truncated bodies: refused (cut connection, and a complete response with half the JSON)', async () => {
    const fx = fixtureFromCase(good);
    server.override = (_req, res, path) => {
      if (!path.endsWith('/tcb')) return false;
      res.writeHead(200, { 'content-length': String(fx.tcbInfoBody.length), 'content-type': 'application/json' });
      res.write(fx.tcbInfoBody.slice(0, 100));
      setImmediate(() => res.destroy());
      return true;
    };
    await refused(verifier(source()).verify(quote, { at: AT }));
    server.override = (_req, res, path) => {
      if (!path.endsWith('/tcb')) return false;
      res.writeHead(200, {
        'content-type': 'application/json',
        'TCB-Info-Issuer-Chain': encodeURIComponent(fx.tcbInfoChain),
      });
      res.end(fx.tcbInfoBody.slice(0, Math.floor(fx.tcbInfoBody.length / 2)));
      return true;
    };
    await refused(verifier(source()).verify(quote, { at: AT }), ['ERR_COLLATERAL_MALFORMED']);
    server.override = undefined;
  });

  test('wrong issuer chain header (another hierarchy): refused by the signature checks', async () => {
    const otherDir = await mkdtemp(join(tmpdir(), 'ratls-faults-other-'));
    try {
      await initSimulation(otherDir, { at: new Date(SIM_AT) });
      const other = JSON.parse(await readFile(join(otherDir, 'collateral.json'), 'utf8')) as QuoteCollateralV3Json;
      const fx = fixtureFromCase(good);
      server.override = (_req, res, path) => {
        if (!path.endsWith('/tcb')) return false;
        res.writeHead(200, {
          'content-type': 'application/json',
          'TCB-Info-Issuer-Chain': encodeURIComponent(other.tcb_info_issuer_chain),
        });
        res.end(fx.tcbInfoBody);
        return true;
      };
      await refused(verifier(source()).verify(quote, { at: AT }), ['ERR_UNTRUSTED_ROOT', 'ERR_TCB_INFO_SIGNATURE']);
      // The other hierarchy's own, correctly signed, collateral is no better: its root is not ours.
      server.override = (_req, res, path) => {
        if (!path.endsWith('/tcb')) return false;
        const ofx = fixtureFromCase(other);
        res.writeHead(200, {
          'content-type': 'application/json',
          'TCB-Info-Issuer-Chain': encodeURIComponent(ofx.tcbInfoChain),
        });
        res.end(ofx.tcbInfoBody);
        return true;
      };
      await refused(verifier(source()).verify(quote, { at: AT }));
    } finally {
      server.override = undefined;
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  test('collateral correctly signed for another FMSPC: refused', async () => {
    const otherFmspc = { ...sim, fmspc: { ...sim.fmspc, sgx: 'c0ffee000000' } };
    const built = await buildCollateral(otherFmspc);
    const fx = fixtureFromCase(built.sgx as unknown as QuoteCollateralV3Json);
    server.override = (_req, res, path) => {
      if (!path.endsWith('/tcb')) return false;
      res.writeHead(200, {
        'content-type': 'application/json',
        'TCB-Info-Issuer-Chain': encodeURIComponent(fx.tcbInfoChain),
      });
      res.end(fx.tcbInfoBody);
      return true;
    };
    await refused(verifier(source()).verify(quote, { at: AT }), ['ERR_FMSPC_MISMATCH', 'ERR_COLLATERAL_MISMATCH']);
    server.override = undefined;
  });

  test('collateral past nextUpdate: refused', async () => {
    now = SIM_AT + 31 * DAY * 1000;
    try {
      await refused(verifier(source()).verify(quote, { at: AT + 31 * DAY }), ['ERR_COLLATERAL_EXPIRED']);
    } finally {
      now = SIM_AT;
    }
  });

  test('cached collateral serves until nextUpdate and not after; recovery when the PCCS returns', async () => {
    const src = source(server.url, { retryAfterMs: 1 });
    server.override = undefined;
    await verifier(src).verify(quote, { at: AT });
    server.override = (_req, res) => {
      res.writeHead(503).end();
      return true;
    };
    // PCCS down, cache valid: a fresh verifier (no verified-collateral cache of its own) still verifies.
    now = SIM_AT + 10 * DAY * 1000;
    const r = await verifier(src).verify(quote, { at: AT + 10 * DAY });
    assert.equal(r.tcbStatus, 'UpToDate');
    // PCCS down, cache past nextUpdate: refused.
    now = SIM_AT + 31 * DAY * 1000;
    await refused(verifier(src).verify(quote, { at: AT + 31 * DAY }));
    // PCCS back, time back inside the window (a PCCS with fresh collateral): verifies again.
    server.override = undefined;
    now = SIM_AT + 11 * DAY * 1000;
    const down = source(`http://127.0.0.1:${await closedPort()}`);
    await refused(verifier(down).verify(quote, { at: AT + 11 * DAY }));
    const back = await verifier(src).verify(quote, { at: AT + 11 * DAY });
    assert.equal(back.tcbStatus, 'UpToDate');
    now = SIM_AT;
  });

  test('a CRL that revokes the PCK: refused', async () => {
    const q = parseQuote(quote);
    const leafPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(
      q.signatureData.pckChainPem ?? '',
    )?.[0];
    assert.ok(leafPem);
    await revokePckSerial(sim, new X509Certificate(leafPem).serialNumber);
    const revoked = JSON.parse(await readFile(join(dir, 'collateral.json'), 'utf8')) as QuoteCollateralV3Json;
    assert.notEqual(revoked.pck_crl, good.pck_crl);
    const revokedServer = await startPcsServer([fixtureFromCase(revoked)]);
    try {
      await refused(verifier(source(revokedServer.url)).verify(quote, { at: AT }), ['ERR_PCK_REVOKED']);
      await refused(
        verifyCertificate(certDer, { at: AT, trustAnchors: anchors, collateralSource: source(revokedServer.url) }),
        ['ERR_PCK_REVOKED'],
      );
    } finally {
      await revokedServer.close();
    }
  });
});
