/**
 * The ratls gateway in front of an unmodified Redis: only the enclave the policy names reaches
 * it, over attested TLS; Redis itself listens on loopback and knows nothing of attestation.
 * Needs redis-server on PATH. Run: npx tsx --conditions=development examples/gateway-redis.ts
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { connectAttested } from '@ratls/verifier';
import { startGateway } from 'ratls';
import { measurement, simulatedTee } from './simulated-tee.js';

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

const tee = await simulatedTee();
const redisPort = await freePort();
const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
  stdio: 'ignore',
});
try {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const c = net.connect(redisPort, '127.0.0.1', () => (c.destroy(), r(true)));
      c.on('error', () => r(false));
    });
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const gw = await tee.enclave('gateway', measurement('gateway'));
  writeFileSync(join(tee.dir, 'gateway.crt'), gw.cert);
  writeFileSync(join(tee.dir, 'gateway.key'), gw.key, { mode: 0o600 });
  writeFileSync(
    join(tee.dir, 'policy.yaml'),
    `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: worker\n    sgx: { mrEnclave: ["${measurement('worker v1')}"] }\n`,
  );
  writeFileSync(
    join(tee.dir, 'gateway.yaml'),
    [
      'version: 1',
      'trust: { anchors: [./sim/root.pem], collateral: ./sim/collateral.json }',
      'policy: ./policy.yaml',
      'listeners:',
      '  - name: redis',
      '    listen: 127.0.0.1:0',
      '    tls: { cert: ./gateway.crt, key: ./gateway.key }',
      `    forward: { tcp: 127.0.0.1:${redisPort} }`,
      '',
    ].join('\n'),
  );
  const gateway = await startGateway(join(tee.dir, 'gateway.yaml'), { watch: false, log: () => {}, auditSink: { callback: () => {} } });
  const port = gateway.addresses().redis?.port as number;
  const trustGateway = tee.verifierFor('gateway', measurement('gateway'));
  for (const label of ['worker v1', 'worker v0']) {
    const me = await tee.enclave(label, measurement(label));
    const answer = await new Promise<string>((resolve) => {
      connectAttested({ host: '127.0.0.1', port, ...me, attestation: { verifier: trustGateway } }).then(
        (s) => {
          let b = '';
          s.on('data', (d) => {
            b += d;
            if (b.includes('\r\n')) s.end();
          });
          // A refusal right after the handshake arrives as a typed error (ERR_TLS_REFUSED_BY_SERVER), not a bare reset.
          s.on('error', (e: { code?: string }) => resolve(`refused by the gateway (${e.code})`));
          s.on('close', () => resolve(b.trim() || 'connection closed by the gateway (refused)'));
          s.write('PING\r\n');
        },
        (e: { code?: string }) => resolve(`refused: ${e.code}`),
      );
    });
    console.log(`${label}: ${answer}`);
  }
  await gateway.close();
} finally {
  redis.kill();
  tee.close();
}
