/**
 * A server in an enclave, a client that attests it: the client gets its socket only after the
 * server's RA-TLS certificate was verified and matched the policy; an impostor is refused before
 * one byte is written. Run: npx tsx --conditions=development examples/server-client.ts
 */
import tls from 'node:tls';
import { connectAttested } from '@ratls/verifier';
import { measurement, simulatedTee } from './simulated-tee.js';

const tee = await simulatedTee();
const good = await tee.enclave('kms', measurement('kms v1'));
const impostor = await tee.enclave('kms', measurement('something else'));

async function serve(creds: { cert: string; key: string }): Promise<tls.Server> {
  const server = tls.createServer(creds, (s) => s.end('hello from the enclave\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

const verifier = tee.verifierFor('kms', measurement('kms v1'));
for (const [label, creds] of [['kms v1', good], ['impostor', impostor]] as const) {
  const server = await serve(creds);
  const { port } = server.address() as { port: number };
  try {
    const socket = await connectAttested({ host: '127.0.0.1', port, attestation: { verifier } });
    const text = await new Promise<string>((r) => {
      let b = '';
      socket.on('data', (d) => (b += d));
      socket.on('end', () => r(b));
    });
    console.log(`${label}: accepted as ${socket.attestation.identity}, said: ${text.trim()}`);
  } catch (e) {
    console.log(`${label}: refused (${(e as { code?: string }).code}, ${(e as { reason?: string }).reason ?? ''})`);
  } finally {
    server.close();
  }
}
tee.close();
