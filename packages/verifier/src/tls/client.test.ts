import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fakeAppraiser, makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { fetch } from 'undici';
import { TLS_ERRORS } from '../decide/errors.js';
import { Agent } from './agent.js';
import { type AttestedClientSocket, connect, connectAttested } from './client.js';
import { createAttestedDispatcher } from './dispatcher.js';
import { type AttestedRequest, attestationMiddleware, createHttpsServer } from './https.js';
import { createServer } from './server.js';

let goodServer: TestCredentials;
let badServer: TestCredentials;
let clientCreds: TestCredentials;

before(async () => {
  [goodServer, badServer, clientCreds] = await Promise.all([
    makeSelfSigned('good-server'),
    makeSelfSigned('bad-server'),
    makeSelfSigned('client'),
  ]);
});

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}
async function close(server: net.Server): Promise<void> {
  (server as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.();
  await new Promise<void>((r) => server.close(() => r()));
}

/** A plain TLS server that records every application byte and talks first. */
function recordingServer(creds: TestCredentials) {
  const received: Buffer[] = [];
  const server = tls.createServer({ key: creds.key, cert: creds.cert }, (s) => {
    s.write('banner\n');
    s.on('data', (d: Buffer) => {
      received.push(d);
      if (d.includes('quit')) s.end('bye\n');
    });
    s.on('error', () => undefined);
  });
  return { server, received };
}

describe('attested TLS client', () => {
  test('wrong server: rejected before any byte is written, and its bytes never reach the app', async () => {
    const { server, received } = recordingServer(badServer);
    const port = await listen(server);
    try {
      const verifier = fakeAppraiser([goodServer.fingerprint]);
      const s = connect({ host: '127.0.0.1', port, attestation: { verifier } });
      const data: Buffer[] = [];
      s.on('data', (d: Buffer) => data.push(d));
      s.write('secret-1');
      s.once('secureConnect', () => s.write('secret-2 quit'));
      const writeErr = new Promise<unknown>((r) => s.write('secret-3', (e) => r(e)));
      const [err] = (await once(s, 'error')) as [{ code: string }];
      assert.equal(err.code, 'ERR_FAKE_REJECT');
      assert.ok(((await writeErr) as { code?: string } | undefined)?.code);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(Buffer.concat(received).length, 0);
      assert.equal(data.length, 0);
      assert.equal(s.attestation, undefined);
    } finally {
      await close(server);
    }
  });

  test('right server: held writes and early server bytes flow after `attested`', async () => {
    const { server, received } = recordingServer(goodServer);
    const port = await listen(server);
    try {
      const verifier = fakeAppraiser([goodServer.fingerprint], { identity: 'svc', delayMs: 30 });
      let attestedFirst = false;
      const s = connect({ host: '127.0.0.1', port, attestation: { verifier } }, () => {
        attestedFirst = true;
      });
      const data: Buffer[] = [];
      s.on('data', (d: Buffer) => {
        assert.ok(attestedFirst, 'data before attested');
        data.push(d);
      });
      s.write('hello ');
      s.end('quit');
      await once(s, 'close');
      assert.equal(Buffer.concat(received).toString(), 'hello quit');
      assert.equal(Buffer.concat(data).toString(), 'banner\nbye\n');
      assert.equal(s.attestation?.identity, 'svc');
      assert.equal(verifier.calls[0]?.ctx.peer.role, 'server');
    } finally {
      await close(server);
    }
  });

  test('connectAttested resolves for the right server and rejects for the wrong one', async () => {
    const a = recordingServer(goodServer);
    const b = recordingServer(badServer);
    const [pa, pb] = [await listen(a.server), await listen(b.server)];
    try {
      const verifier = fakeAppraiser([goodServer.fingerprint]);
      const s = await connectAttested({ host: '127.0.0.1', port: pa, attestation: { verifier } });
      assert.equal(s.attestation.identity, 'fake');
      s.destroy();
      await assert.rejects(connectAttested({ host: '127.0.0.1', port: pb, attestation: { verifier } }), {
        code: 'ERR_FAKE_REJECT',
      });
    } finally {
      await close(a.server);
      await close(b.server);
    }
  });

  test('a server that never answers the handshake times out', async () => {
    const held: net.Socket[] = [];
    const server = net.createServer((s) => held.push(s));
    const port = await listen(server);
    try {
      const verifier = fakeAppraiser([]);
      await assert.rejects(connectAttested({ host: '127.0.0.1', port, attestation: { verifier, timeoutMs: 100 } }), {
        code: TLS_ERRORS.HANDSHAKE_TIMEOUT,
      });
    } finally {
      for (const s of held) s.destroy();
      await close(server);
    }
  });

  test('https Agent: request goes out only to an accepted server', async () => {
    let served = 0;
    const mk = (c: TestCredentials) =>
      https.createServer({ key: c.key, cert: c.cert }, (_req, res) => {
        served++;
        res.end('ok');
      });
    const good = mk(goodServer);
    const bad = mk(badServer);
    const [pg, pb] = [await listen(good), await listen(bad)];
    const agent = new Agent({
      attestation: { verifier: fakeAppraiser([goodServer.fingerprint], { identity: 'web' }) },
    });
    try {
      const body = await new Promise<{ text: string; identity?: string }>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: pg, path: '/', agent }, (res) => {
            let text = '';
            res.on('data', (d: Buffer) => {
              text += d.toString();
            });
            res.on('end', () =>
              resolve({ text, identity: (res.socket as AttestedClientSocket).attestation?.identity }),
            );
          })
          .on('error', reject);
      });
      assert.deepEqual(body, { text: 'ok', identity: 'web' });
      const err = await new Promise<{ code?: string }>((resolve) => {
        https.get({ host: '127.0.0.1', port: pb, path: '/', agent }, () => resolve({})).on('error', resolve);
      });
      assert.equal(err.code, 'ERR_FAKE_REJECT');
      assert.equal(served, 1);
    } finally {
      agent.destroy();
      await close(good);
      await close(bad);
    }
  });

  test('undici fetch through the attested dispatcher', async () => {
    let served = 0;
    const mk = (c: TestCredentials) =>
      https.createServer({ key: c.key, cert: c.cert }, (_req, res) => {
        served++;
        res.end('fetched');
      });
    const good = mk(goodServer);
    const bad = mk(badServer);
    const [pg, pb] = [await listen(good), await listen(bad)];
    const dispatcher = createAttestedDispatcher({ attestation: { verifier: fakeAppraiser([goodServer.fingerprint]) } });
    try {
      const res = await fetch(`https://127.0.0.1:${pg}/`, { dispatcher });
      assert.equal(await res.text(), 'fetched');
      await assert.rejects(fetch(`https://127.0.0.1:${pb}/`, { dispatcher }), (e: unknown) => {
        const cause = (e as { cause?: { code?: string } }).cause;
        return cause?.code === 'ERR_FAKE_REJECT';
      });
      await assert.rejects(fetch(`http://127.0.0.1:${pg}/`, { dispatcher }), (e: unknown) => {
        return (e as { cause?: { code?: string } }).cause?.code === TLS_ERRORS.NOT_TLS;
      });
      assert.equal(served, 1);
    } finally {
      await dispatcher.close();
      await close(good);
      await close(bad);
    }
  });

  test('mutual RA-TLS: each side attests the other with its own policy', async () => {
    const serverSide = fakeAppraiser([clientCreds.fingerprint], { identity: 'client-app' });
    const server = createServer(
      { key: goodServer.key, cert: goodServer.cert, attestation: { verifier: serverSide } },
      (socket) => socket.end(`hello ${socket.attestation.identity}`),
    );
    const port = await listen(server);
    try {
      const clientSide = fakeAppraiser([goodServer.fingerprint], { identity: 'server-app' });
      const s = await connectAttested({
        host: '127.0.0.1',
        port,
        key: clientCreds.key,
        cert: clientCreds.cert,
        attestation: { verifier: clientSide },
      });
      assert.equal(s.attestation.identity, 'server-app');
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      await once(s, 'end');
      assert.equal(Buffer.concat(chunks).toString(), 'hello client-app');

      // The server refuses a client whose certificate its policy does not allow.
      const stranger = await makeSelfSigned('stranger');
      const t = await connectAttested({
        host: '127.0.0.1',
        port,
        key: stranger.key,
        cert: stranger.cert,
        attestation: { verifier: clientSide },
      });
      const strangerData: Buffer[] = [];
      t.on('data', (d: Buffer) => strangerData.push(d));
      t.on('error', () => undefined);
      await once(t, 'close');
      assert.equal(strangerData.length, 0);
      assert.deepEqual(
        serverSide.rejects.map((r) => r.code),
        ['ERR_FAKE_REJECT'],
      );
    } finally {
      await close(server);
    }
  });

  test('attested HTTPS server + Agent: req.attestation, middleware by identity, no request from a rejected client', async () => {
    const serverSide = fakeAppraiser([clientCreds.fingerprint], { identity: 'billing' });
    const seen: string[] = [];
    const onlyPayments = attestationMiddleware({ identities: ['payments'] });
    const anyone = attestationMiddleware();
    const server = createHttpsServer(
      { key: goodServer.key, cert: goodServer.cert, attestation: { verifier: serverSide } },
      (req: AttestedRequest, res) => {
        seen.push(`${req.url}:${req.attestation.identity}`);
        const mw = req.url === '/payments' ? onlyPayments : anyone;
        mw(req, res, () => res.end(`hi ${req.attestation.identity}`));
      },
    );
    const port = await listen(server);
    const get = (path: string, creds: TestCredentials) =>
      new Promise<{ status?: number; body: string; code?: string }>((resolve) => {
        const agent = new Agent({
          key: creds.key,
          cert: creds.cert,
          attestation: { verifier: fakeAppraiser([goodServer.fingerprint]) },
        });
        https
          .get({ host: '127.0.0.1', port, path, agent }, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => {
              body += d.toString();
            });
            res.on('end', () => {
              agent.destroy();
              resolve({ status: res.statusCode, body });
            });
          })
          .on('error', (e: NodeJS.ErrnoException) => {
            agent.destroy();
            resolve({ body: '', code: e.code });
          });
      });
    try {
      assert.deepEqual(await get('/', clientCreds), { status: 200, body: 'hi billing' });
      assert.equal((await get('/payments', clientCreds)).status, 403);
      const stranger = await makeSelfSigned('stranger');
      const r = await get('/', stranger);
      assert.equal(r.status, undefined);
      assert.deepEqual(seen, ['/:billing', '/payments:billing']);
    } finally {
      await close(server);
    }
  });
});
