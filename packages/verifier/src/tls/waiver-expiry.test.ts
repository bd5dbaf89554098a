/**
 * A waiver over real TLS on 127.0.0.1: an OutOfDate simulated SGX enclave is admitted under a named
 * waiver before its date (the audit event names the waiver), its connection is closed when the
 * waiver ends, and after the date the same certificate is refused as if the waiver were absent.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import tls from 'node:tls';
import { createAttestedCredentials } from '@ratls/attester';
import { initSimulation, type SimState, SimulatedQuoteProvider } from '@ratls/sim';
import { makeSelfSigned } from '@ratls/test-support/tls-testkit';
import type { AuditEvent } from '../audit/event.js';
import { createAuditLog } from '../audit/log.js';
import { createPeerVerifier } from '../decide/peer-verifier.js';
import { parsePolicy } from '../policy/parse.js';
import { trustAnchorFrom } from '../trust.js';
import { createServer } from './server.js';

const AT = new Date('2026-03-01T12:00:00Z').getTime();
const UNTIL = '2026-03-01T13:00:00Z';
const UNTIL_MS = Date.parse(UNTIL);
const MR_ENCLAVE = '11'.repeat(32);

let dir: string;
let sim: SimState;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-waiver-'));
  sim = await initSimulation(dir, { at: new Date(AT), collateralDays: 30 });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('OutOfDate enclave: accepted under a waiver, closed at its end, refused after it', async () => {
  const anchor = trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'));
  const collateral = await readFile(join(dir, 'collateral.json'), 'utf8');
  const policy = parsePolicy(
    `version: 2
defaults: { simulated: true }
identities:
  - name: app
    sgx: { mrEnclave: "${MR_ENCLAVE}" }
  - name: other
    sgx: { mrEnclave: "${'22'.repeat(32)}" }
waivers:
  - name: tcb-r-2026-02
    identities: [app]
    tcbStatus: [OutOfDate]
    until: ${UNTIL}
    reason: fleet update CHG-1234
`,
    { source: 'waiver.yaml' },
  );
  const creds = await createAttestedCredentials({
    provider: new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave: MR_ENCLAVE, tcb: 'OutOfDate' }),
    clock: () => AT,
    autoRenew: false,
  });
  const client = { key: creds.keyPem, cert: creds.cert };
  creds.close();

  let now = AT + 60_000;
  const events: AuditEvent[] = [];
  const verifier = createPeerVerifier({
    policy: { current: () => policy },
    trustAnchors: [anchor],
    collateral,
    audit: createAuditLog({ sink: { callback: (e) => events.push(e) } }),
    listener: 'waiver',
  });
  const serverCreds = await makeSelfSigned('waiver-server');
  const server = createServer(
    { key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier, clock: () => now } },
    (s) => {
      s.on('data', () => undefined);
      s.write('welcome');
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;

  const connect = async (): Promise<{ got: string; closedAfterMs: number }> => {
    const t0 = performance.now();
    const c = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...client });
    c.on('error', () => undefined);
    let got = '';
    c.on('data', (d: Buffer) => {
      got += d.toString();
    });
    // Bounded: a connection that is never closed fails the test instead of hanging it.
    const timer = setTimeout(() => c.destroy(new Error('not closed')), 20_000);
    await once(c, 'close');
    clearTimeout(timer);
    return { got, closedAfterMs: performance.now() - t0 };
  };

  try {
    // 1.5 s before the waiver ends: admitted, named in the audit, then closed by the server at expiry.
    now = UNTIL_MS - 1500;
    const ok = await connect();
    assert.equal(ok.got, 'welcome');
    assert.ok(ok.closedAfterMs >= 1000, `closed after ${ok.closedAfterMs} ms, before the waiver ended`);
    const accepted = events.at(-1) as AuditEvent;
    assert.equal(accepted.event.outcome, 'success');
    assert.equal(accepted.attestation?.identity, 'app');
    assert.equal(accepted.attestation?.waiver, 'tcb-r-2026-02');
    assert.equal(accepted.attestation?.valid_until, new Date(UNTIL_MS).toISOString());
    assert.equal(typeof accepted.attestation?.tcb_evaluation_data_number, 'number');

    // At the waiver's date: refused, as if absent.
    now = UNTIL_MS;
    const late = await connect();
    assert.equal(late.got, '');
    const refused = events.at(-1) as AuditEvent;
    assert.equal(refused.event.outcome, 'failure');
    assert.equal(refused.event.reason, 'tcb_status_not_allowed');
    assert.equal(refused.attestation?.waiver, undefined);
  } finally {
    server.close();
  }
});
