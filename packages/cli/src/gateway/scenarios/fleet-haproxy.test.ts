/**
 * A fleet on an existing balancer: two real gateway processes behind a real HAProxy in TCP mode
 * with `send-proxy-v2` and `check port <admin>` on /healthz, both verifying simulated RA-TLS
 * clients with collateral from one PCCS stand-in. Connections go round-robin; with one gateway
 * killed, traffic continues on the other; each gateway's audit shows the original client address
 * (127.0.0.3, not HAProxy's 127.0.0.1); a client that sends its own PROXY header to a gateway
 * directly is refused with ERR_PROXY_UNTRUSTED_SOURCE.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  freePort,
  type GatewayProcess,
  simulatedPccs,
  spawnGateway,
  type TcpEchoBackend,
  tcpEchoBackend,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import { type HaproxyFleet, haproxySkip, startHaproxyFleet } from '@ratls/test-support/haproxy';
import type { PcsServer } from '@ratls/test-support/pcs-server';
import { encodeProxyV2 } from '../forward/proxy-protocol.js';

const GOOD = '44'.repeat(32);

interface Ev {
  event: { action: string; outcome: string };
  source?: { ip?: string };
  error?: { code?: string };
}

describe('gateway fleet behind HAProxy (send-proxy-v2, /healthz checks)', { skip: haproxySkip() ?? false }, () => {
  let dir: string;
  let pcs: PcsServer;
  let backend: TcpEchoBackend;
  let client: { cert: string; key: string };
  const gws: GatewayProcess[] = [];
  const ports: Array<{ port: number; adminPort: number; audit: string }> = [];
  let lb: HaproxyFleet;

  before(async () => {
    dir = tempDir('ratls-fleet-');
    ({ client, pcs } = await simulatedPccs(dir, GOOD));
    backend = await tcpEchoBackend();
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: svc\n    sgx: { mrEnclave: "${GOOD}" }\n`,
    );
    for (const n of [1, 2]) {
      const port = await freePort();
      const adminPort = await freePort();
      const audit = join(dir, `audit-${n}.jsonl`);
      ports.push({ port, adminPort, audit });
      writeFile(
        dir,
        `gateway-${n}.yaml`,
        `version: 1
trust: { anchors: [./sim/root.pem], pccs: "${pcs.url}", cacheDir: ./pccs-cache }
policy: ./policy.yaml
admin: 127.0.0.1:${adminPort}
audit: { file: ${audit} }
limits: { drainTimeoutMs: 500 }
listeners:
  - name: kms
    listen: 127.0.0.1:${port}
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { tcp: "127.0.0.1:${backend.port}" }
    proxyProtocol: { from: [127.0.0.1/32] }
`,
      );
    }
    gws.push(...(await Promise.all([1, 2].map((n) => spawnGateway(join(dir, `gateway-${n}.yaml`))))));
    lb = await startHaproxyFleet(dir, await freePort(), ports);
    // Both servers up: HAProxy's first health checks have passed.
    await new Promise((r) => setTimeout(r, 1000));
  });

  after(async () => {
    await lb?.stop();
    await Promise.all(gws.map((g) => g.stop()));
    await backend?.close();
    await pcs?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const audit = (n: number): Ev[] => {
    try {
      return readFileSync(ports[n]?.audit as string, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Ev);
    } catch {
      return [];
    }
  };
  const accepted = (n: number) =>
    audit(n).filter((e) => e.event.action === 'ratls-handshake' && e.event.outcome === 'success');
  const waitFor = async (pred: () => boolean, ms = 5000) => {
    for (let t = 0; t < ms && !pred(); t += 50) await new Promise((r) => setTimeout(r, 50));
    return pred();
  };

  /** One attested echo round trip as the simulated client, from `from`, to `port` (optionally with a preface). */
  const roundTrip = async (port: number, from: string, preface?: Buffer): Promise<boolean> => {
    const raw = net.connect({ host: '127.0.0.1', port, localAddress: from });
    raw.on('error', () => undefined);
    await new Promise<void>((r) => {
      raw.once('connect', () => r());
      raw.once('error', () => r());
    });
    if (preface) raw.write(preface);
    const sock = tls.connect({
      socket: raw,
      cert: readFileSync(client.cert),
      key: readFileSync(client.key),
      rejectUnauthorized: false,
    });
    sock.on('error', () => undefined);
    const ok = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 15_000);
      sock.once('secureConnect', () => sock.write('PING'));
      sock.once('data', (c: Buffer) => {
        clearTimeout(t);
        resolve(c.toString() === 'PING');
      });
      sock.once('close', () => {
        clearTimeout(t);
        resolve(false);
      });
    });
    sock.destroy();
    return ok;
  };

  it('balances round-robin over both gateways; each audits the original client address', async () => {
    for (let i = 0; i < 4; i++) assert.ok(await roundTrip(lb.port, '127.0.0.3'), `connection ${i}`);
    assert.ok(await waitFor(() => accepted(0).length + accepted(1).length === 4), 'four accepts audited');
    assert.equal(accepted(0).length, 2);
    assert.equal(accepted(1).length, 2);
    for (const e of [...accepted(0), ...accepted(1)]) assert.equal(e.source?.ip, '127.0.0.3');
  });

  it('refuses a PROXY header a client sends to a gateway directly (ERR_PROXY_UNTRUSTED_SOURCE)', async () => {
    const forged = encodeProxyV2({ srcIp: '10.1.2.3', srcPort: 1, dstIp: '10.0.0.1', dstPort: 2 }, undefined);
    assert.equal(await roundTrip(ports[0]?.port as number, '127.0.0.2', forged), false);
    assert.ok(await waitFor(() => audit(0).some((e) => e.error?.code === 'ERR_PROXY_UNTRUSTED_SOURCE')));
    assert.ok(!audit(0).some((e) => e.source?.ip === '10.1.2.3'), 'the forged address is never believed');
  });

  it('keeps serving with one gateway killed', async () => {
    const before2 = accepted(1).length;
    gws[0]?.child.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 800));
    for (let i = 0; i < 4; i++) assert.ok(await roundTrip(lb.port, '127.0.0.3'), `connection ${i} after the kill`);
    assert.ok(await waitFor(() => accepted(1).length === before2 + 4), 'all four went to the surviving gateway');
  });
});
