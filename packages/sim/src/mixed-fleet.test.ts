/**
 * A mixed fleet over real TLS on 127.0.0.1: simulated SGX, SEV-SNP and Nitro clients, each with a
 * DICE RA-TLS certificate, against one attested server whose policy names one identity per TEE.
 * Each is accepted under its own identity; an SNP client with another measurement is refused.
 * (@ratls/verifier is a test-only import here: the simulator never depends on it at runtime.)
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import type { QuoteProvider } from '@ratls/attester';
import { buildRaTlsCertificate, exportPrivateKeyPem, generateKeyPair } from '@ratls/attester';
import {
  type AuditEvent,
  createAuditLog,
  createPeerVerifier,
  createServer,
  parsePolicy,
  trustAnchorFrom,
} from '@ratls/verifier';
import {
  initSimulation,
  loadNitroSimulation,
  loadSnpSimulation,
  SimulatedNitroProvider,
  SimulatedQuoteProvider,
  SimulatedSnpProvider,
} from './index.js';

const MR_ENCLAVE = '11'.repeat(32);
const SNP_MEAS = 'ab'.repeat(48);
const PCR0 = 'cd'.repeat(48);
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-mixed-fleet-'));
});
after(async () => rm(dir, { recursive: true, force: true }));

async function creds(provider: QuoteProvider): Promise<{ key: string; cert: string }> {
  const keyPair = await generateKeyPair();
  const cert = await buildRaTlsCertificate({ keyPair, provider, subject: provider.name });
  return { key: exportPrivateKeyPem(keyPair), cert: cert.pem };
}

test('mixed fleet: SGX, SEV-SNP and Nitro clients each accepted as their identity; wrong SNP measurement refused', async () => {
  const sgx = await initSimulation(dir, { at: new Date(Date.now() - 3_600_000), collateralDays: 30 });
  const snp = await loadSnpSimulation(dir);
  const nitro = await loadNitroSimulation(dir);
  const read = (p: string): Promise<string> => readFile(join(dir, p), 'utf8');
  const policy = parsePolicy(
    `version: 1
defaults:
  tcbStatus: [UpToDate]
  debug: false
  simulated: true
identities:
  - name: sgx-app
    sgx: { mrEnclave: [ "${MR_ENCLAVE}" ] }
  - name: snp-vm
    snp: { measurement: [ "${SNP_MEAS}" ] }
  - name: nitro-enclave
    nitro: { pcr0: [ "${PCR0}" ] }
`,
    { source: 'mixed-fleet' },
  );
  const events: AuditEvent[] = [];
  const verifier = createPeerVerifier({
    policy,
    trustAnchors: [trustAnchorFrom(await read('root.pem'))],
    collateral: await read('collateral.json'),
    snp: { trustAnchors: [await read('snp/ark.pem')] },
    nitroTrustAnchors: [await read('nitro/root.pem')],
    audit: createAuditLog({ sink: { callback: (e) => events.push(e) } }),
    listener: 'fleet',
  });
  const server = createServer(
    {
      ...(await creds(new SimulatedQuoteProvider(sgx, { tee: 'sgx', mrEnclave: MR_ENCLAVE }))),
      attestation: { verifier },
    },
    (s) => {
      s.on('data', () => undefined);
      s.end(`hello ${s.attestation.identity ?? '?'}`);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;

  async function attempt(c: { key: string; cert: string }): Promise<string> {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...c });
    sock.on('error', () => undefined);
    let got = '';
    sock.on('data', (d: Buffer) => {
      got += d.toString();
    });
    await once(sock, 'close');
    return got;
  }

  try {
    const fleet: Array<[string, QuoteProvider]> = [
      ['sgx-app', new SimulatedQuoteProvider(sgx, { tee: 'sgx', mrEnclave: MR_ENCLAVE })],
      ['snp-vm', new SimulatedSnpProvider(snp, { measurement: SNP_MEAS })],
      ['nitro-enclave', await SimulatedNitroProvider.create(nitro, { pcrs: { 0: PCR0 } })],
    ];
    for (const [identity, provider] of fleet) {
      assert.equal(await attempt(await creds(provider)), `hello ${identity}`, provider.name);
      const e = events.at(-1);
      assert.equal(e?.event.outcome, 'success', e?.message);
    }
    const wrong = await attempt(await creds(new SimulatedSnpProvider(snp, { measurement: 'ee'.repeat(48) })));
    assert.equal(wrong, '', 'nothing served to the wrong SNP measurement');
    const e = events.at(-1);
    assert.equal(e?.event.outcome, 'failure');
    assert.equal(e?.event.reason, 'measurement_mismatch', e?.message);
    const debug = await attempt(await creds(new SimulatedSnpProvider(snp, { measurement: SNP_MEAS, debug: true })));
    assert.equal(debug, '');
    assert.equal(events.at(-1)?.event.reason, 'debug_not_allowed', events.at(-1)?.message);
    assert.equal(events.length, 5, 'one audit event per attempt');
  } finally {
    server.close();
  }
});
