import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildRaTlsCertificate, createAttestedCredentials, generateKeyPair } from '@ratls/attester';
import { checkBinding, parseQuote, parseRatlsCertificate } from '@ratls/evidence';
import { initSimulation, type SimState, SimulatedQuoteProvider } from './index.js';

const AT = new Date('2026-01-15T12:00:00Z');
let dir: string;
let sim: SimState;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-attester-sim-'));
  sim = await initSimulation(dir, { at: AT });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('certificates over simulated quotes', () => {
  const cases = [
    { tee: 'sgx', format: 'both', tag: 60000 },
    { tee: 'tdx', format: 'dice', tag: 60001 },
    { tee: 'tdx', format: 'dice', tag: 60001, quoteVersion: 5 },
  ] as const;
  for (const c of cases) {
    test(`${c.tee}${'quoteVersion' in c ? ` v${c.quoteVersion}` : ''} ${c.format}: binding holds, quote report data = what was asked`, async () => {
      const provider = new SimulatedQuoteProvider(sim, {
        tee: c.tee,
        ...('quoteVersion' in c ? { quoteVersion: c.quoteVersion } : {}),
      });
      const keyPair = await generateKeyPair();
      const cert = await buildRaTlsCertificate({ keyPair, provider, format: c.format, clock: () => AT.getTime() });
      const parts = parseRatlsCertificate(cert.der);
      assert.equal(parts.evidence.length, cert.attestations.length);
      for (const ev of parts.evidence) {
        checkBinding(ev, parts.spkiDer);
        if (ev.format === 'tcg-dice') assert.equal(ev.diceTag, c.tag);
      }
      for (const a of cert.attestations) {
        const q = parseQuote(a.evidence.evidence);
        assert.equal(q.tee, c.tee);
        assert.deepEqual(q.body.report.reportData, a.reportData);
      }
    });
  }

  test('createAttestedCredentials with the simulator (SGX, P-384, nonce)', async () => {
    const nonce = new Uint8Array([1, 2, 3]);
    const creds = await createAttestedCredentials({
      provider: new SimulatedQuoteProvider(sim, { tee: 'sgx' }),
      keyType: 'P-384',
      nonce,
      clock: () => AT.getTime(),
      autoRenew: false,
    });
    try {
      const parts = parseRatlsCertificate(creds.certDer);
      const dice = parts.evidence.find((e) => e.format === 'tcg-dice');
      assert.ok(dice);
      assert.deepEqual(checkBinding(dice, parts.spkiDer, { expectedNonce: nonce }).nonce, nonce);
    } finally {
      creds.close();
    }
  });
});
