/**
 * `tls: attested` credentials renew themselves (issue 13): the gateway makes a new key and quote
 * before its certificate ends, new handshakes get the new certificate, and a connection opened
 * under the old one keeps working (setSecureContext, as a certificate-file rotation does).
 * In-process gateway (workers: 1) with a simulated attester; real TLS clients, real TCP backend.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { initSimulation } from '@ratls/sim';
import { simulatedPolicy } from '@ratls/test-support/channel-scenario';
import { simCert, type TcpEchoBackend, tcpEchoBackend, tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import { type Gateway, startGateway } from '../index.js';

const CLIENT_M = '11'.repeat(32);
const GATEWAY_M = '33'.repeat(32);

describe('gateway scenario: attested credentials renew without dropping connections', () => {
  let dir: string;
  let gw: Gateway;
  let backend: TcpEchoBackend;
  let client: { cert: string; key: string };
  const logged: string[] = [];

  before(async () => {
    dir = tempDir('ratls-gw-renew-');
    const sim = join(dir, 'sim');
    await initSimulation(sim);
    const files = await simCert(sim, join(dir, 'client'), { mrEnclave: CLIENT_M, subject: 'client' });
    client = { cert: readFileSync(files.cert, 'utf8'), key: readFileSync(files.key, 'utf8') };
    backend = await tcpEchoBackend();
    writeFile(dir, 'policy.yaml', simulatedPolicy('enclave-client', CLIENT_M));
    // A 6 s certificate renewed 4 s before its end: a new key and quote about every 2 s.
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json]
policy: ./policy.yaml
limits: { handshakeTimeoutMs: 10000, drainTimeoutMs: 500 }
attester:
  simulated: { dir: ./sim, mrEnclave: "${GATEWAY_M}" }
  credentials: { validitySeconds: 6, renewBeforeSeconds: 4 }
listeners:
  - name: cache
    listen: 127.0.0.1:0
    tls: attested
    forward: { tcp: "127.0.0.1:${backend.port}" }
`,
    );
    gw = await startGateway(join(dir, 'gateway.yaml'), {
      watch: false,
      log: (_level, msg) => logged.push(msg),
      auditSink: { callback: () => undefined },
    });
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const open = (): Promise<tls.TLSSocket> =>
    new Promise((resolve, reject) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: gw.addresses().cache?.port ?? 0,
        ...client,
        rejectUnauthorized: false,
      });
      s.once('secureConnect', () => resolve(s));
      s.once('error', reject);
    });
  const echo = (s: tls.TLSSocket, text: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no echo of ${text} within 10 s`)), 10_000);
      let got = '';
      const onData = (c: Buffer) => {
        got += c.toString('utf8');
        if (got.length >= text.length) {
          clearTimeout(t);
          s.off('data', onData);
          resolve(got);
        }
      };
      s.on('data', onData);
      s.write(text);
    });

  it('new handshakes present the renewed certificate; the open connection keeps flowing', async () => {
    const first = await open();
    const before = first.getPeerX509Certificate();
    assert.ok(before, 'the gateway presented a certificate');
    assert.equal(await echo(first, 'one'), 'one');
    // Bounded wait (20 s on a loaded machine) for a renewal.
    for (let i = 0; i < 200 && !logged.includes('attested credentials renewed'); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(logged.includes('attested credentials renewed'), `no renewal logged: ${logged.join(' | ')}`);
    const second = await open();
    const after = second.getPeerX509Certificate();
    assert.ok(after);
    assert.notEqual(after.fingerprint256, before.fingerprint256, 'a new certificate after renewal');
    assert.notEqual(
      after.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'),
      before.publicKey.export({ type: 'spki', format: 'der' }).toString('hex'),
      'a new key, so a new quote',
    );
    assert.equal(await echo(second, 'two'), 'two');
    assert.equal(await echo(first, 'still'), 'still', 'the connection opened under the old certificate is not dropped');
    first.destroy();
    second.destroy();
  });
});
