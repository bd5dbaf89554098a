/**
 * fetch() through an attested undici dispatcher: the request leaves only after the HTTPS server's
 * RA-TLS certificate was verified and matched the policy.
 * Run: npx tsx --conditions=development examples/fetch-dispatcher.ts
 */
import https from 'node:https';
import { createAttestedDispatcher } from '@ratls/verifier';
import { fetch } from 'undici';
import { measurement, simulatedTee } from './simulated-tee.js';

const tee = await simulatedTee();
const api = await tee.enclave('api', measurement('api v2'));
const server = https.createServer(api, (_req, res) => res.end(JSON.stringify({ balance: 42 })));
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const { port } = server.address() as { port: number };

const dispatcher = createAttestedDispatcher({ attestation: { verifier: tee.verifierFor('api', measurement('api v2')) } });
const res = await fetch(`https://127.0.0.1:${port}/balance`, { dispatcher });
console.log(`attested api answered ${res.status}: ${await res.text()}`);

const wrong = createAttestedDispatcher({ attestation: { verifier: tee.verifierFor('api', measurement('api v1')) } });
try {
  await fetch(`https://127.0.0.1:${port}/balance`, { dispatcher: wrong });
  console.log('UNEXPECTED: a server with another measurement was trusted');
  process.exitCode = 1;
} catch (e) {
  const cause = (e as { cause?: { code?: string } }).cause;
  console.log(`expecting api v1: refused before the request was sent (${cause?.code ?? (e as Error).message})`);
}
await dispatcher.close();
await wrong.close();
server.close();
tee.close();
