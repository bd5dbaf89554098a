/**
 * Input bounds, each tested at the limit (accepted, or refused only for a reason other than
 * size) and one byte over (refused with the size error): quote, RA-TLS certificate, evidence
 * extension, DICE claims, collateral JSON, PCCS response body, policy. The limits are listed in
 * docs/security.md.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildRaTlsCertificate, generateKeyPair, type KeyPair } from '@ratls/attester';
import {
  DICE_TAG_INTEL_QUOTE,
  decodeDiceClaims,
  decodeDiceTaggedEvidence,
  encodeDiceTaggedEvidence,
  MAX_CLAIMS_BYTES,
  MAX_EVIDENCE_EXTENSION_BYTES,
  MAX_QUOTE_BYTES,
  MAX_RATLS_CERT_BYTES,
  parseRatlsCertificate,
  RatlsError,
} from '@ratls/evidence';
import { initSimulation, SimulatedQuoteProvider } from '@ratls/sim';
import { fixtureFromCase, startPcsServer } from '@ratls/test-support/pcs-server';
import { dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import {
  createQuoteVerifier,
  MAX_COLLATERAL_JSON_BYTES,
  MAX_POLICY_BYTES,
  PccsCollateralSource,
  parsePolicy,
  type QuoteCollateralV3Json,
  type TrustAnchor,
  trustAnchorFrom,
  verifyCertificate,
  verifyQuote,
} from '@ratls/verifier';
import { certLayout, child, OID_DICE_TAGGED_HEX, replaceNode, resignTbs, resignWithExtension, tlv } from './lib/der.js';

const SIM_AT = Date.parse('2026-03-01T12:00:00Z');
const AT = SIM_AT / 1000 + 600;
/** PccsCollateralSource's default maxBodyBytes (pccs-source.ts). */
const PCCS_MAX_BODY_BYTES = 1024 * 1024;

let dir: string;
let anchors: TrustAnchor[];
let keyPair: KeyPair;
let certDer: Uint8Array;
let collateral: string;

function pad(b: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n);
  out.set(b);
  return out;
}

async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
    return undefined;
  } catch (e) {
    assert.ok(e instanceof RatlsError, `untyped ${String(e)}`);
    return e.code;
  }
}

/**
 * The simulated certificate with extra non-critical extensions (each below the per-extension
 * bound, private OIDs 1.3.6.1.4.1.55555.1.k), re-signed, of exactly `size` bytes.
 */
function certOfSize(size: number): Uint8Array {
  const l = certLayout(certDer);
  const a3 = l.tbs.children?.find((c) => c.tag === 0xa3);
  assert.ok(a3);
  const exts = child(a3, 0);
  const oid = (k: number) => Uint8Array.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xb2, 0x03, 0x01, k]);
  const chunk = 60_000;
  const fixedExts: Uint8Array[] = [];
  for (let k = 1; size - certDer.length - fixedExts.length * (chunk + 20) > chunk; k++) {
    fixedExts.push(tlv(0x30, Buffer.concat([oid(k), tlv(0x04, new Uint8Array(chunk))])));
  }
  let n = size - certDer.length - fixedExts.reduce((a, e) => a + e.length, 0);
  for (let i = 0; i < 40; i++) {
    const last = tlv(0x30, Buffer.concat([oid(100), tlv(0x04, new Uint8Array(Math.max(0, n)))]));
    const seq = tlv(0x30, Buffer.concat([certDer.slice(exts.contentStart, exts.end), ...fixedExts, last]));
    const tbs = replaceNode(certDer, l.tbs, exts.start, seq);
    const der = resignTbs(certDer, tbs, keyPair.privateKey, 'sha256');
    if (der.length === size) return der;
    n += Math.abs(size - der.length) > 4 ? size - der.length : size > der.length ? 1 : -1;
  }
  throw new Error(`could not build a certificate of ${size} bytes`);
}

/** CBOR tag 60000 [bstr quote, bstr claims], written here so sizes past the attester's bound can be made. */
function diceValue(quote: Uint8Array, claims: Uint8Array): Uint8Array {
  const bstr = (b: Uint8Array) => {
    const h =
      b.length < 24
        ? Buffer.of(0x40 + b.length)
        : b.length < 0x10000
          ? Buffer.of(0x59, b.length >> 8, b.length & 0xff)
          : Buffer.of(0x5a, b.length >>> 24, (b.length >> 16) & 0xff, (b.length >> 8) & 0xff, b.length & 0xff);
    return Buffer.concat([h, b]);
  };
  return new Uint8Array(Buffer.concat([Buffer.of(0xd9, 0xea, 0x60, 0x82), bstr(quote), bstr(claims)]));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-bounds-'));
  const sim = await initSimulation(dir, { at: new Date(SIM_AT) });
  anchors = [trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'))];
  keyPair = await generateKeyPair();
  const provider = new SimulatedQuoteProvider(sim, { tee: 'sgx' });
  certDer = (await buildRaTlsCertificate({ keyPair, provider, clock: () => SIM_AT })).der;
  collateral = await readFile(join(dir, 'collateral.json'), 'utf8');
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const simVerify = (der: Uint8Array) => verifyCertificate(der, { at: AT, trustAnchors: anchors, collateral });

/** The DICE extension of the simulated certificate rebuilt around `quote`, re-signed. */
function withQuote(quote: Uint8Array): Uint8Array {
  const l = certLayout(certDer);
  const e = l.extensions.find((x) => x.oidHex === OID_DICE_TAGGED_HEX);
  assert.ok(e);
  const { claims } = decodeDiceTaggedEvidence(certDer.slice(e.value.contentStart, e.value.end));
  const value = encodeDiceTaggedEvidence(DICE_TAG_INTEL_QUOTE, quote, claims);
  return resignWithExtension(certDer, OID_DICE_TAGGED_HEX, value, keyPair.privateKey, 'sha256');
}

function simQuote(): Uint8Array {
  const l = certLayout(certDer);
  const e = l.extensions.find((x) => x.oidHex === OID_DICE_TAGGED_HEX);
  assert.ok(e);
  return decodeDiceTaggedEvidence(certDer.slice(e.value.contentStart, e.value.end)).evidence;
}

describe('bounds', () => {
  test(`quote: ${MAX_QUOTE_BYTES} bytes verifies (padding after the signature data), one more is refused`, {
    skip: SKIP_NO_VECTORS,
  }, async () => {
    const c = dcapCases().find((x) => x.expect.ok && x.tee === 'SGX');
    assert.ok(c);
    const q = readVector(c.quote);
    const col = readVectorText(c.collateral);
    await verifyQuote(pad(q, MAX_QUOTE_BYTES), col, { at: c.at });
    assert.equal(await code(verifyQuote(pad(q, MAX_QUOTE_BYTES + 1), col, { at: c.at })), 'ERR_QUOTE_TOO_LARGE');
  });

  test(`RA-TLS certificate: ${MAX_RATLS_CERT_BYTES} bytes verifies, one more is refused`, async () => {
    const atLimit = certOfSize(MAX_RATLS_CERT_BYTES);
    assert.equal(atLimit.length, MAX_RATLS_CERT_BYTES);
    await simVerify(atLimit);
    const over = certOfSize(MAX_RATLS_CERT_BYTES + 1);
    assert.equal(await code(simVerify(over)), 'ERR_CERT_TOO_LARGE');
    assert.equal(await code(() => parseRatlsCertificate(over)), 'ERR_CERT_TOO_LARGE');
  });

  test('evidence extension: the largest quote fits and verifies; one byte more is refused', async () => {
    const q = simQuote();
    const largest = withQuote(pad(q, MAX_QUOTE_BYTES));
    await simVerify(largest);
    assert.equal(await code(simVerify(withQuote(pad(q, MAX_QUOTE_BYTES + 1)))), 'ERR_QUOTE_TOO_LARGE');
  });

  test(`evidence extension: ${MAX_EVIDENCE_EXTENSION_BYTES} bytes passes the size check, one more is refused`, async () => {
    const q = simQuote();
    // Claims are a few dozen bytes; grow the quote until the extension value is exactly at the bound.
    let n = MAX_EVIDENCE_EXTENSION_BYTES - 100;
    let value = diceValue(pad(q, n), new Uint8Array(0));
    n += MAX_EVIDENCE_EXTENSION_BYTES - value.length;
    value = diceValue(pad(q, n), new Uint8Array(0));
    assert.equal(value.length, MAX_EVIDENCE_EXTENSION_BYTES);
    const at = resignWithExtension(certDer, OID_DICE_TAGGED_HEX, value, keyPair.privateKey, 'sha256');
    // At the bound the extension is read; the quote inside is then too large for the quote bound.
    assert.notEqual(await code(() => parseRatlsCertificate(at)), 'ERR_CERT_TOO_LARGE');
    assert.equal(await code(simVerify(at)), 'ERR_QUOTE_TOO_LARGE');
    const over = diceValue(pad(q, n + 1), new Uint8Array(0));
    const overCert = resignWithExtension(certDer, OID_DICE_TAGGED_HEX, over, keyPair.privateKey, 'sha256');
    assert.equal(await code(() => parseRatlsCertificate(overCert)), 'ERR_CERT_TOO_LARGE');
    assert.equal(await code(simVerify(overCert)), 'ERR_CERT_TOO_LARGE');
  });

  test(`DICE claims: ${MAX_CLAIMS_BYTES} bytes decode, one more is refused`, async () => {
    // {"pubkey-hash": h'[1, h(32)]', "nonce": h'…'} sized exactly (CBOR, RFC 8949).
    const text = (s: string) => Buffer.concat([Buffer.of(0x60 + s.length), Buffer.from(s)]);
    const hashed = Buffer.concat([Buffer.of(0x82, 0x01, 0x58, 0x20), Buffer.alloc(32, 7)]);
    const claimsOf = (nonceLen: number) =>
      new Uint8Array(
        Buffer.concat([
          Buffer.of(0xa2),
          text('pubkey-hash'),
          Buffer.of(0x58, hashed.length),
          hashed,
          text('nonce'),
          Buffer.of(0x59, nonceLen >> 8, nonceLen & 0xff),
          Buffer.alloc(nonceLen, 1),
        ]),
      );
    const fixed = claimsOf(0).length;
    const atLimit = claimsOf(MAX_CLAIMS_BYTES - fixed);
    assert.equal(atLimit.length, MAX_CLAIMS_BYTES);
    decodeDiceClaims(atLimit);
    assert.equal(await code(() => decodeDiceClaims(claimsOf(MAX_CLAIMS_BYTES - fixed + 1))), 'ERR_DICE_CLAIMS_INVALID');
  });

  test(`collateral JSON: ${MAX_COLLATERAL_JSON_BYTES} bytes verifies, one more is refused`, async () => {
    const padded = (n: number) => collateral + ' '.repeat(n - collateral.length);
    const q = simQuote();
    await verifyQuote(q, padded(MAX_COLLATERAL_JSON_BYTES), { at: AT, trustAnchors: anchors });
    assert.equal(
      await code(verifyQuote(q, padded(MAX_COLLATERAL_JSON_BYTES + 1), { at: AT, trustAnchors: anchors })),
      'ERR_COLLATERAL_TOO_LARGE',
    );
  });

  test(`PCCS response body: ${PCCS_MAX_BODY_BYTES} bytes (default) verifies, one more is refused`, async () => {
    const fx = fixtureFromCase(JSON.parse(collateral) as QuoteCollateralV3Json);
    const server = await startPcsServer([fx]);
    try {
      let size = PCCS_MAX_BODY_BYTES;
      server.override = (_req, res, path) => {
        if (!path.endsWith('/tcb')) return false;
        res.writeHead(200, {
          'content-type': 'application/json',
          'TCB-Info-Issuer-Chain': encodeURIComponent(fx.tcbInfoChain),
        });
        res.end(fx.tcbInfoBody + ' '.repeat(size - fx.tcbInfoBody.length));
        return true;
      };
      const verify = () =>
        createQuoteVerifier({
          collateralSource: new PccsCollateralSource(server.url, { clock: () => SIM_AT, timeoutMs: 10_000 }),
          trustAnchors: anchors,
        }).verify(simQuote(), { at: AT });
      await verify();
      size = PCCS_MAX_BODY_BYTES + 1;
      assert.equal(await code(verify()), 'ERR_COLLATERAL_TOO_LARGE');
    } finally {
      await server.close();
    }
  });

  test(`policy: ${MAX_POLICY_BYTES} bytes parse, one more is refused`, async () => {
    const base = `version: 1\nidentities:\n  - name: a\n    sgx: { mrEnclave: ["${'ab'.repeat(32)}"] }\n#`;
    const policy = (n: number) => base + 'x'.repeat(n - base.length);
    assert.equal(parsePolicy(policy(MAX_POLICY_BYTES)).identities.length, 1);
    assert.equal(await code(() => parsePolicy(policy(MAX_POLICY_BYTES + 1))), 'ERR_POLICY_INVALID');
  });
});
