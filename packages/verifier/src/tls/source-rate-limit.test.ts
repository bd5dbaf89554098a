/**
 * The per-source handshake rate bound: the token bucket alone (fixed times), then the attested
 * server on loopback with a decision clock the test moves. A second source is 127.0.0.2 (Linux
 * routes all of 127.0.0.0/8 to `lo`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import tls from 'node:tls';
import { fakeAppraiser, makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { TLS_ERRORS } from '../decide/errors.js';
import { createServer } from './server.js';
import { SourceRateLimiter } from './source-group.js';

const T = Date.UTC(2026, 0, 1);

describe('SourceRateLimiter (token bucket per source)', () => {
  test('a burst of perSecond, then refused until time refills it; sources are separate', () => {
    const rl = new SourceRateLimiter({ perSecond: 4 });
    for (let i = 0; i < 4; i++) assert.equal(rl.take('10.0.0.1', T), true);
    assert.equal(rl.take('10.0.0.1', T), false);
    assert.equal(rl.take('10.0.0.2', T), true);
    assert.equal(rl.take('10.0.0.1', T + 249), false);
    assert.equal(rl.take('10.0.0.1', T + 250), true);
    assert.equal(rl.take('10.0.0.1', T + 250), false);
  });

  test('a clock stepping back refills nothing', () => {
    const rl = new SourceRateLimiter({ perSecond: 1 });
    assert.equal(rl.take('a', T), true);
    assert.equal(rl.take('a', T - 60_000), false);
    assert.equal(rl.take('a', T + 500), false);
    assert.equal(rl.take('a', T + 1000), true);
  });

  test('bounded: a full map drops refilled buckets, and refuses a new source when none has refilled', () => {
    const rl = new SourceRateLimiter({ perSecond: 1, maxSources: 3 });
    for (const s of ['a', 'b', 'c']) assert.equal(rl.take(s, T), true);
    assert.equal(rl.take('d', T), false);
    assert.equal(rl.size, 3);
    assert.equal(rl.take('d', T + 1000), true);
    assert.equal(rl.size, 1);
  });
});

let serverCreds: TestCredentials;
let good: TestCredentials;
before(async () => {
  [serverCreds, good] = await Promise.all([makeSelfSigned('server'), makeSelfSigned('good')]);
});

/** An attested client from `from`; resolves with what the server sent ('' when refused). */
function client(port: number, from: string): Promise<string> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
  socket.on('error', () => undefined);
  const c = tls.connect({
    socket,
    key: good.key,
    cert: good.cert,
    rejectUnauthorized: false,
  });
  c.on('error', () => undefined);
  const got: Buffer[] = [];
  c.on('data', (d: Buffer) => got.push(d));
  return new Promise((r) => c.once('close', () => r(Buffer.concat(got).toString())));
}

describe('maxHandshakesPerSecondPerSource (attested server)', () => {
  test('over the rate: refused on accept before any TLS byte, with its own code; another source is served', async () => {
    let now = T;
    const verifier = fakeAppraiser([good.fingerprint], { identity: 'app' });
    const server = createServer(
      { ...serverCreds, attestation: { verifier, maxHandshakesPerSecondPerSource: 2, clock: () => now } },
      (s) => s.end('ok'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as net.AddressInfo).port;
    try {
      assert.equal(await client(port, '127.0.0.1'), 'ok');
      assert.equal(await client(port, '127.0.0.1'), 'ok');
      // The third within the same second: a raw socket sees no ServerHello, only the close.
      const raw = net.connect({ host: '127.0.0.1', port });
      raw.on('error', () => undefined);
      const bytes: Buffer[] = [];
      raw.on('data', (d: Buffer) => bytes.push(d));
      await once(raw, 'connect');
      raw.write(Buffer.from('16030100c8010000c40303', 'hex'));
      await once(raw, 'close');
      assert.equal(Buffer.concat(bytes).length, 0);
      assert.equal(await client(port, '127.0.0.2'), 'ok');
      assert.deepEqual(
        verifier.rejects.map((e) => e.code),
        [TLS_ERRORS.SOURCE_RATE_LIMITED],
      );
      assert.match(verifier.rejects[0]?.message ?? '', /more than 2 handshakes per second from 127\.0\.0\.1/);
      assert.equal(verifier.calls.length, 3);
      // A second later the source's bucket has refilled.
      now += 1000;
      assert.equal(await client(port, '127.0.0.1'), 'ok');
      assert.equal(verifier.rejects.length, 1);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
