import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fakeAppraiser, fakeSgxResult, makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { TLS_ERRORS } from '../decide/errors.js';
import { createPeerVerifierCore, type PeerAuditInput } from '../decide/peer-verifier-core.js';
import type { PeerAppraiser } from '../decide/types.js';
import type { Decision } from '../policy/types.js';
import { type AttestedSocket, createServer, localAddressOf } from './server.js';

let serverCreds: TestCredentials;
let good: TestCredentials;
let bad: TestCredentials;

before(async () => {
  [serverCreds, good, bad] = await Promise.all([
    makeSelfSigned('server'),
    makeSelfSigned('good'),
    makeSelfSigned('bad'),
  ]);
});

const tracked = new WeakMap<net.Server, Set<net.Socket>>();

async function listen(server: net.Server): Promise<number> {
  const socks = new Set<net.Socket>();
  tracked.set(server, socks);
  server.on('connection', (s: net.Socket) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

async function close(server: net.Server): Promise<void> {
  // Drop whatever is still open so close() returns promptly.
  for (const s of tracked.get(server) ?? []) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
}

function clientTo(port: number, creds?: TestCredentials, onSecure?: (s: tls.TLSSocket) => void): tls.TLSSocket {
  const s = tls.connect({
    host: '127.0.0.1',
    port,
    rejectUnauthorized: false,
    ...(creds ? { key: creds.key, cert: creds.cert } : {}),
  });
  s.on('error', () => undefined);
  if (onSecure) s.once('secureConnect', () => onSecure(s));
  return s;
}

/** Resolves when the socket is closed by the other side (or errors). */
function closed(s: net.Socket): Promise<void> {
  return s.destroyed ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

function outcome(e: PeerAuditInput | undefined): 'accept' | 'reject' {
  return e && !e.error && e.decision?.accept === true ? 'accept' : 'reject';
}

function auditedVerifier(allow: string[], opts: { delayMs?: number } = {}) {
  const events: PeerAuditInput[] = [];
  const verifier = createPeerVerifierCore({
    async verify(der) {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      const { createHash } = await import('node:crypto');
      const fp = createHash('sha256').update(der).digest('hex');
      if (!allow.includes(fp)) throw Object.assign(new Error('no evidence'), {});
      return {
        result: fakeSgxResult(),
        certificate: {
          fingerprintSha256: fp,
          notBefore: 0,
          notAfter: 4_102_444_800,
          subject: 'CN=x',
          formats: ['fake'],
        },
        binding: { formats: ['fake'] },
      };
    },
    evaluate: () => ({ accept: true, identity: 'app', policyHash: 'ab'.repeat(32), reasons: [] }),
    audit: { record: (e) => events.push(e) },
  });
  return { verifier, events };
}

describe('attested TLS server', () => {
  test('accepts an allowed client; handler sees socket.attestation and the bytes sent right away', async () => {
    const verifier = fakeAppraiser([good.fingerprint], { identity: 'payments' });
    const got: Buffer[] = [];
    let seen: AttestedSocket | undefined;
    const server = createServer(
      { key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } },
      (socket) => {
        seen = socket;
        socket.on('data', (d: Buffer) => {
          got.push(d);
          socket.end('pong');
        });
      },
    );
    const port = await listen(server);
    try {
      const c = clientTo(port, good, (s) => s.write('ping'));
      const reply: Buffer[] = [];
      c.on('data', (d: Buffer) => reply.push(d));
      await closed(c);
      assert.equal(Buffer.concat(got).toString(), 'ping');
      assert.equal(Buffer.concat(reply).toString(), 'pong');
      assert.equal(seen?.attestation.identity, 'payments');
      assert.equal(seen?.attestation.result?.tee, 'sgx');
      assert.equal(verifier.calls[0]?.ctx.peer.role, 'client');
      assert.equal(verifier.calls[0]?.ctx.peer.ip, '127.0.0.1');
    } finally {
      await close(server);
    }
  });

  test('localAddressOf: an accepted socket names the listener end the acceptor read on accept', async () => {
    const verifier = fakeAppraiser([good.fingerprint], { identity: 'payments' });
    let local: { ip?: string; port?: number } | undefined;
    let own: { ip?: string; port?: number } | undefined;
    const server = createServer({ key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } }, (s) => {
      local = localAddressOf(s);
      own = { ip: s.localAddress, port: s.localPort };
      s.end();
    });
    const port = await listen(server);
    try {
      const c = clientTo(port, good);
      await closed(c);
      assert.deepEqual(local, { ip: '127.0.0.1', port });
      assert.deepEqual(own, local);
      // Any other socket: its own end, as Node reports it.
      const plain = net.connect(port, '127.0.0.1');
      await once(plain, 'connect');
      assert.deepEqual(localAddressOf(plain), { ip: plain.localAddress, port: plain.localPort });
      plain.destroy();
    } finally {
      await close(server);
    }
  });

  test('rejected client: destroyed, its immediate application data never reaches the handler', async () => {
    // The appraiser is slow on purpose so the client's bytes are surely in the server's buffer first.
    const verifier = fakeAppraiser([good.fingerprint], { delayMs: 100 });
    let handlerCalls = 0;
    const server = createServer({ key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } }, (s) => {
      handlerCalls++;
      s.on('data', () => assert.fail('rejected bytes reached the application'));
    });
    const secureListeners: unknown[] = [];
    server.on('secureConnection', (s) => secureListeners.push(s));
    const rejected: string[] = [];
    server.on('attestationRejected', (e: { code: string }) => rejected.push(e.code));
    const port = await listen(server);
    try {
      let wrote = false;
      const c = clientTo(port, bad, (s) => {
        wrote = s.write('GET /secret HTTP/1.1\r\nhost: x\r\n\r\n');
        s.write(Buffer.alloc(32 * 1024, 1));
      });
      await closed(c);
      assert.ok(wrote !== undefined);
      assert.equal(handlerCalls, 0);
      assert.equal(secureListeners.length, 0);
      assert.deepEqual(rejected, ['ERR_FAKE_REJECT']);
      assert.deepEqual(
        verifier.rejects.map((r) => r.code),
        ['ERR_FAKE_REJECT'],
      );
    } finally {
      await close(server);
    }
  });

  test('client without a certificate is rejected with its own code', async () => {
    const verifier = fakeAppraiser([good.fingerprint]);
    let handlerCalls = 0;
    const server = createServer({ key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } }, () => {
      handlerCalls++;
    });
    const port = await listen(server);
    try {
      const c = clientTo(port, undefined, (s) => s.write('hello'));
      await closed(c);
      assert.equal(handlerCalls, 0);
      assert.equal(verifier.calls.length, 0);
      assert.deepEqual(
        verifier.rejects.map((r) => r.code),
        [TLS_ERRORS.NO_PEER_CERTIFICATE],
      );
    } finally {
      await close(server);
    }
  });

  test('handshake timeout: silent TCP client and a client stalled mid-ClientHello are dropped', async () => {
    const { verifier, events } = auditedVerifier([good.fingerprint]);
    const server = createServer({
      key: serverCreds.key,
      cert: serverCreds.cert,
      attestation: { verifier, handshakeTimeoutMs: 150 },
    });
    const port = await listen(server);
    try {
      const t0 = Date.now();
      const silent = net.connect(port, '127.0.0.1');
      silent.on('error', () => undefined);
      const stalled = net.connect(port, '127.0.0.1', () => {
        // A TLS handshake record header promising 512 bytes, then nothing more.
        stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]));
      });
      stalled.on('error', () => undefined);
      await Promise.all([closed(silent), closed(stalled)]);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 140 && elapsed < 2000, `closed after ${elapsed} ms`);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(events.length, 2);
      assert.deepEqual(
        events.map((e) => e.error?.code),
        [TLS_ERRORS.HANDSHAKE_TIMEOUT, TLS_ERRORS.HANDSHAKE_TIMEOUT],
      );
    } finally {
      await close(server);
    }
  });

  test('a decision slower than the deadline rejects with one audit event, never the handler', async () => {
    const { verifier, events } = auditedVerifier([good.fingerprint], { delayMs: 400 });
    let handlerCalls = 0;
    const server = createServer(
      { key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier, handshakeTimeoutMs: 150 } },
      () => {
        handlerCalls++;
      },
    );
    const port = await listen(server);
    try {
      const c = clientTo(port, good);
      await closed(c);
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(handlerCalls, 0);
      assert.equal(events.length, 1);
      assert.equal(events[0]?.error?.code, TLS_ERRORS.HANDSHAKE_TIMEOUT);
      assert.equal(outcome(events[0]), 'reject');
    } finally {
      await close(server);
    }
  });

  test('maxConcurrentHandshakes: the connection over the bound is closed at once and audited', async () => {
    const { verifier, events } = auditedVerifier([good.fingerprint]);
    const server = createServer({
      key: serverCreds.key,
      cert: serverCreds.cert,
      attestation: { verifier, maxConcurrentHandshakes: 2, handshakeTimeoutMs: 1000 },
    });
    const port = await listen(server);
    const socks: net.Socket[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const s = net.connect(port, '127.0.0.1');
        s.on('error', () => undefined);
        socks.push(s);
        await once(s, 'connect');
      }
      await new Promise((r) => setTimeout(r, 30));
      const third = net.connect(port, '127.0.0.1');
      third.on('error', () => undefined);
      const t0 = Date.now();
      await closed(third);
      assert.ok(Date.now() - t0 < 500);
      assert.deepEqual(
        events.map((e) => e.error?.code),
        [TLS_ERRORS.TOO_MANY_HANDSHAKES],
      );
      // Once the waiting ones are gone, new handshakes are admitted again.
      for (const s of socks) s.destroy();
      await new Promise((r) => setTimeout(r, 50));
      const ok = clientTo(port, good);
      await once(ok, 'secureConnect');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(outcome(events.at(-1)), 'accept');
      ok.destroy();
    } finally {
      for (const s of socks) s.destroy();
      await close(server);
    }
  });

  test('one audit event per attempt across accept, reject, no certificate and TLS garbage', async () => {
    const { verifier, events } = auditedVerifier([good.fingerprint]);
    const server = createServer(
      { key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier, listener: 'l1' } },
      (s) => s.end(),
    );
    const port = await listen(server);
    try {
      await closed(clientTo(port, good));
      await closed(clientTo(port, bad));
      await closed(clientTo(port));
      // A well-formed TLS record header around a body that is no ClientHello: TLS itself fails.
      const junk = net.connect(port, '127.0.0.1', () =>
        junk.write(Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x08]), Buffer.alloc(8, 0xee)])),
      );
      junk.on('error', () => undefined);
      junk.resume(); // read the server's alert, so that its close arrives
      await closed(junk);
      // Not TLS at all: refused by the pre-TLS acceptor on its first byte.
      const http = net.connect(port, '127.0.0.1', () => http.write('GET / HTTP/1.1\r\n\r\n'));
      http.on('error', () => undefined);
      await closed(http);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        events.map((e) => `${outcome(e)}:${e.error?.code ?? ''}`),
        [
          'accept:',
          'reject:ERR_TLS_APPRAISER_FAILED',
          `reject:${TLS_ERRORS.NO_PEER_CERTIFICATE}`,
          `reject:${TLS_ERRORS.HANDSHAKE_FAILED}`,
          `reject:${TLS_ERRORS.NOT_TLS_HANDSHAKE}`,
        ],
      );
      assert.ok(events.every((e) => e.listener === 'l1' && e.peer?.role === 'client'));
      assert.equal(events[0]?.peer?.certSha256, good.fingerprint);
    } finally {
      await close(server);
    }
  });

  test('client hanging up during the appraisal: still exactly one audit event', async () => {
    // The server does not read before the decision, so it may only learn of the hang-up later:
    // either way the attempt yields one event and the handler sees at most an ended socket.
    const { verifier, events } = auditedVerifier([good.fingerprint], { delayMs: 150 });
    const server = createServer({ key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } }, (s) => {
      s.resume();
      s.on('error', () => undefined);
    });
    const port = await listen(server);
    try {
      const c = clientTo(port, good, (s) => {
        setTimeout(() => s.destroy(), 20);
      });
      await closed(c);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(events.length, 1);
    } finally {
      await close(server);
    }
  });

  test('HTTPS: a full request written right after the handshake by a refused client is never parsed', async () => {
    const { createHttpsServer } = await import('./https.js');
    const verifier = fakeAppraiser([good.fingerprint], { delayMs: 50 });
    const requests: string[] = [];
    const server = createHttpsServer(
      { key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } },
      (req, res) => {
        requests.push(`${req.method} ${req.url} ${req.attestation.identity}`);
        res.end('ok');
      },
    );
    const port = await listen(server);
    try {
      const send = (creds: TestCredentials) => {
        const c = clientTo(port, creds, (s) =>
          s.write('POST /transfer HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\nhi'),
        );
        let got = '';
        c.on('data', (d: Buffer) => {
          got += d.toString();
          if (got.includes('ok')) c.end();
        });
        return closed(c).then(() => got);
      };
      assert.equal(await send(bad), '');
      assert.match(await send(good), /^HTTP\/1\.1 200/);
      assert.deepEqual(requests, ['POST /transfer fake']);
      assert.deepEqual(
        verifier.rejects.map((r) => r.code),
        ['ERR_FAKE_REJECT'],
      );
    } finally {
      await close(server);
    }
  });

  test('a resumed TLS session is appraised again from the certificate stored in it', async () => {
    const verifier = fakeAppraiser([good.fingerprint]);
    const resumed: boolean[] = [];
    const server = createServer({ key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } }, (s) => {
      resumed.push(s.isSessionReused());
      s.end('x');
    });
    const port = await listen(server);
    const run = async (creds: TestCredentials | undefined, session?: Buffer) => {
      let ticket: Buffer | undefined;
      const c = tls.connect({
        host: '127.0.0.1',
        port,
        rejectUnauthorized: false,
        ...(creds ? { key: creds.key, cert: creds.cert } : {}),
        ...(session ? { session } : {}),
      });
      c.on('session', (t: Buffer) => {
        ticket = t;
      });
      c.on('error', () => undefined);
      c.on('data', () => undefined);
      await closed(c);
      return ticket;
    };
    try {
      const t1 = await run(good);
      assert.ok(t1);
      await run(good, t1);
      assert.deepEqual(resumed, [false, true]);
      assert.equal(verifier.calls.length, 2, 'resumption does not skip the appraisal');
      const t2 = await run(bad);
      if (t2) await run(undefined, t2);
      assert.deepEqual(resumed, [false, true]);
      assert.ok(verifier.rejects.every((r) => r.code === 'ERR_FAKE_REJECT'));
    } finally {
      await close(server);
    }
  });

  test('a cached result decides at once: appraise only on the miss, the policy read on every connection', async () => {
    const events: PeerAuditInput[] = [];
    let decision: Decision = { accept: true, identity: 'app', policyHash: 'ab'.repeat(32), reasons: [] };
    const core = createPeerVerifierCore({
      verify: async (der) => ({
        result: fakeSgxResult(),
        certificate: { fingerprintSha256: 'x', notBefore: 0, notAfter: 4_102_444_800, subject: 'CN=x', formats: ['f'] },
        binding: { formats: [`len${der.byteLength}`] },
      }),
      evaluate: () => decision,
      audit: { record: (e) => events.push(e) },
    });
    const calls = { appraise: 0, fast: 0 };
    const verifier: PeerAppraiser = {
      appraise: (der, ctx) => {
        calls.appraise++;
        return core.appraise(der, ctx);
      },
      appraiseCached: (der, ctx) => {
        const d = core.appraiseCached?.(der, ctx);
        if (d) calls.fast++;
        return d;
      },
    };
    const identities: (string | undefined)[] = [];
    const server = createServer({ key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } }, (s) => {
      identities.push(s.attestation.identity);
      s.end();
    });
    const rejected: string[] = [];
    server.on('attestationRejected', (e: { code: string }) => rejected.push(e.code));
    const port = await listen(server);
    try {
      await closed(clientTo(port, good));
      await closed(clientTo(port, good));
      // A reload between connections: the cached result is judged by the policy now in force.
      decision = {
        accept: false,
        policyHash: 'cd'.repeat(32),
        reasons: [{ code: 'measurement_mismatch', message: 'no longer allowed' }],
      };
      await closed(clientTo(port, good));
      assert.deepEqual(calls, { appraise: 1, fast: 2 });
      assert.deepEqual(identities, ['app', 'app']);
      assert.deepEqual(rejected, ['ERR_POLICY_REJECTED']);
      assert.deepEqual(
        events.map((e) => `${outcome(e)}:${e.decision?.policyHash.slice(0, 2)}`),
        ['accept:ab', 'accept:ab', 'reject:cd'],
      );
      assert.ok(events.every((e) => e.peer?.certSha256 === good.fingerprint && e.freshness === 'certificate'));
    } finally {
      await close(server);
    }
  });

  test('a throwing fast path rejects (fail closed), whatever appraise would say', async () => {
    const verifier: PeerAppraiser = {
      ...fakeAppraiser([good.fingerprint]),
      appraiseCached: () => {
        throw new Error('boom');
      },
    };
    let handlerCalls = 0;
    const server = createServer({ key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } }, () => {
      handlerCalls++;
    });
    const rejected: string[] = [];
    server.on('attestationRejected', (e: { code: string }) => rejected.push(e.code));
    const port = await listen(server);
    try {
      await closed(clientTo(port, good));
      assert.equal(handlerCalls, 0);
      assert.deepEqual(rejected, [TLS_ERRORS.APPRAISER_FAILED]);
    } finally {
      await close(server);
    }
  });

  test('an appraiser that throws rejects (fail closed)', async () => {
    const verifier: PeerAppraiser = {
      appraise: () => Promise.reject(new Error('boom')),
    };
    let handlerCalls = 0;
    const server = createServer({ key: serverCreds.key, cert: serverCreds.cert, attestation: { verifier } }, () => {
      handlerCalls++;
    });
    const port = await listen(server);
    try {
      await closed(clientTo(port, good));
      assert.equal(handlerCalls, 0);
    } finally {
      await close(server);
    }
  });
});

after(() => undefined);
