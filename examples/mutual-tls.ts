/**
 * Mutual RA-TLS: both sides are enclaves and each attests the other. The server's handler runs
 * only for a client whose evidence matched its policy; the client talks only to a server whose
 * evidence matched its own. Run: npx tsx --conditions=development examples/mutual-tls.ts
 */
import { connectAttested, createServer } from '@ratls/verifier';
import { measurement, simulatedTee } from './simulated-tee.js';

const tee = await simulatedTee();
const server = await tee.enclave('kms', measurement('kms v1'));
const client = await tee.enclave('payments', measurement('payments v3'));
const stranger = await tee.enclave('payments', measurement('unknown build'));

const srv = createServer(
  { ...server, attestation: { verifier: tee.verifierFor('payments', measurement('payments v3')) } },
  (socket) => socket.end(`hello ${socket.attestation.identity}\n`),
);
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
const { port } = srv.address() as { port: number };
const serverVerifier = tee.verifierFor('kms', measurement('kms v1'));

for (const [label, creds] of [['payments v3', client], ['unknown build', stranger]] as const) {
  try {
    const s = await connectAttested({ host: '127.0.0.1', port, ...creds, attestation: { verifier: serverVerifier } });
    const text = await new Promise<string>((resolve, reject) => {
      let b = '';
      s.on('data', (d) => (b += d));
      s.on('end', () => resolve(b));
      s.on('error', reject);
      s.on('close', () => resolve(b));
    });
    console.log(`${label}: server is ${s.attestation.identity}; ${text ? `server said: ${text.trim()}` : 'server closed the connection (refused us)'}`);
  } catch (e) {
    console.log(`${label}: refused (${(e as { code?: string }).code})`);
  }
}
srv.close();
tee.close();
