/**
 * Issue 16, refusals a client can act on. A listener with `refusal: http-403` answers a refused
 * peer with a 403 carrying only the reason code; a default listener closes. The client library
 * (`connectAttested`, `Agent`) turns the 403 and the close right after its handshake into an
 * `AttestationRefusedError` (ERR_TLS_REFUSED_BY_SERVER) instead of a bare ECONNRESET.
 * In-process gateway with the real verification path on the simulator; curl and the library as clients.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import {
  type EchoBackend,
  echoBackend,
  haveBinary,
  run,
  simulatedFleet,
  simulatorPolicy,
  tempDir,
  writeFile,
} from '@ratls/test-support/gateway-helpers';
import {
  Agent,
  AttestationRefusedError,
  type AuditEvent,
  connectAttested,
  parsePolicy,
  trustAnchorFrom,
} from '@ratls/verifier';
import { type Gateway, startGateway } from '../index.js';

const GOOD = '11'.repeat(32);
const IMPOSTOR = '22'.repeat(32);
const policy = simulatorPolicy('payments', [GOOD]);

describe('gateway scenario: refusals a client can act on', () => {
  let dir: string;
  let gw: Gateway;
  let backend: EchoBackend;
  const events: AuditEvent[] = [];
  let c: Record<'good' | 'impostor', { cert: string; key: string }>;
  let clientAttestation: Parameters<typeof connectAttested>[0]['attestation'];

  before(async () => {
    dir = tempDir('ratls-gw-refusal-');
    let sim: string;
    ({ sim, certs: c } = await simulatedFleet(
      dir,
      { good: { mrEnclave: GOOD }, impostor: { mrEnclave: IMPOSTOR } },
      { mrEnclave: GOOD },
    ));
    backend = await echoBackend();
    writeFile(dir, 'policy.yaml', policy);
    const config = writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust:
  anchors: [./sim/root.pem]
  collateral: [./sim/collateral.json, ./sim/collateral-tdx.json]
policy: ./policy.yaml
listeners:
  - name: told
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
    refusal: http-403
  - name: closed
    listen: 127.0.0.1:0
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { http: "http://127.0.0.1:${backend.port}" }
`,
    );
    gw = await startGateway(config, { auditSink: { callback: (e) => events.push(e) }, watch: false, log: () => {} });
    // The client checks the gateway's own RA-TLS certificate against the same simulated root.
    clientAttestation = {
      policy: parsePolicy(policy),
      trustAnchors: [trustAnchorFrom(readFileSync(join(sim, 'root.pem'), 'utf8'))],
      collateral: readFileSync(join(sim, 'collateral.json'), 'utf8'),
    };
  });

  after(async () => {
    await gw?.close();
    await backend?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const port = (name: 'told' | 'closed') => gw.addresses()[name]?.port as number;
  const curl = (who: 'good' | 'impostor' | null, name: 'told' | 'closed') =>
    run('curl', [
      '-sS',
      '-k',
      '--max-time',
      '10',
      '-i',
      ...(who ? ['--cert', c[who].cert, '--key', c[who].key] : []),
      `https://127.0.0.1:${port(name)}/secret`,
    ]);

  it('http-403: a refused peer reads 403 with the reason code only; the backend is untouched', {
    skip: haveBinary('curl') ? false : 'curl not installed',
  }, async () => {
    const hits = backend.requests.length;
    const r = await curl('impostor', 'told');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(r.stdout, /x-ratls-refusal: measurement_mismatch\r\n/);
    const body = JSON.parse(r.stdout.slice(r.stdout.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    assert.deepEqual(body, { error: 'attestation_refused', reason: 'measurement_mismatch' });
    assert.doesNotMatch(r.stdout, new RegExp(`${IMPOSTOR}|${GOOD}|payments`), 'no measurement, no identity');
    const none = await curl(null, 'told');
    assert.match(none.stdout, /x-ratls-refusal: no_client_certificate\r\n/);
    assert.equal(backend.requests.length, hits);
    assert.equal((await curl('good', 'told')).stdout.split('\r\n')[0], 'HTTP/1.1 200 OK');
  });

  it('default listener: a refused peer gets no answer at all', {
    skip: haveBinary('curl') ? false : 'curl not installed',
  }, async () => {
    const r = await curl('impostor', 'closed');
    assert.notEqual(r.code, 0);
    assert.doesNotMatch(r.stdout, /403|measurement/);
  });

  const libraryError = async (name: 'told' | 'closed' | number, who: 'good' | 'impostor') => {
    const s = await connectAttested({
      host: '127.0.0.1',
      port: typeof name === 'number' ? name : port(name),
      cert: readFileSync(c[who].cert),
      key: readFileSync(c[who].key),
      attestation: clientAttestation,
    });
    s.write('GET /x HTTP/1.1\r\nhost: gw\r\nconnection: close\r\n\r\n');
    return new Promise<Error | string>((resolve) => {
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('utf8');
      });
      s.once('error', resolve);
      s.once('close', () => resolve(got));
    });
  };

  it('client library: a 403 refusal becomes AttestationRefusedError with the reason', async () => {
    const e = await libraryError('told', 'impostor');
    assert.ok(e instanceof AttestationRefusedError, String(e));
    assert.equal(e.code, 'ERR_TLS_REFUSED_BY_SERVER');
    assert.equal(e.reason, 'measurement_mismatch');
    assert.equal(e.explicit, true);
  });

  it('client library: a close right after the handshake becomes AttestationRefusedError, not ECONNRESET', async () => {
    const e = await libraryError('closed', 'impostor');
    assert.ok(e instanceof AttestationRefusedError, String(e));
    assert.equal(e.code, 'ERR_TLS_REFUSED_BY_SERVER');
    assert.equal(e.reason, 'unknown');
    assert.equal(e.explicit, false);
  });

  it('client library: an accepted client reads the answer untouched', async () => {
    const got = await libraryError('closed', 'good');
    assert.equal(typeof got, 'string');
    assert.match(got as string, /^HTTP\/1\.1 200 OK\r\n/);
  });

  /** A server with the gateway's own attested certificate that answers any request with `head`. */
  const answering = async (head: string) => {
    const server = tls.createServer(
      { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.crt')) },
      (sock) => {
        sock.on('error', () => undefined);
        sock.once('data', () => sock.end(`${head}content-length: 0\r\nconnection: close\r\n\r\n`));
      },
    );
    server.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    return {
      port: (server.address() as net.AddressInfo).port,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  };

  it('client library: a 403 whose x-ratls-refusal is outside the reason pattern is an ordinary answer', async () => {
    // The control: the same server with a reason code is read as the refusal it is.
    const control = await answering('HTTP/1.1 403 Forbidden\r\nX-Ratls-Refusal: tcb_status_not_allowed\r\n');
    try {
      const e = await libraryError(control.port, 'good');
      assert.ok(e instanceof AttestationRefusedError, String(e));
      assert.equal(e.reason, 'tcb_status_not_allowed');
    } finally {
      await control.close();
    }
    for (const reason of ['MEASUREMENT_MISMATCH', 'a'.repeat(65), 'mrenclave 2222 not in payments', '']) {
      const s = await answering(`HTTP/1.1 403 Forbidden\r\nx-ratls-refusal: ${reason}\r\n`);
      try {
        const got = await libraryError(s.port, 'good');
        assert.equal(typeof got, 'string', `${JSON.stringify(reason)}: ${String(got)}`);
        assert.match(got as string, /^HTTP\/1\.1 403 Forbidden\r\n/);
      } finally {
        await s.close();
      }
    }
  });

  it('https Agent: the request fails with the typed refusal', async () => {
    const agent = new Agent({
      cert: readFileSync(c.impostor.cert),
      key: readFileSync(c.impostor.key),
      attestation: clientAttestation,
    });
    try {
      const e = await new Promise<unknown>((resolve) => {
        const req = https.get({ host: '127.0.0.1', port: port('told'), path: '/x', agent }, (res) => {
          res.resume();
          resolve(new Error(`got a response: ${res.statusCode}`));
        });
        req.once('error', resolve);
      });
      assert.ok(e instanceof AttestationRefusedError, String(e));
      assert.equal(e.reason, 'measurement_mismatch');
    } finally {
      agent.destroy();
    }
  });
});
