/**
 * The pre-TLS acceptor against real sockets on loopback. A second source is 127.0.0.2 (Linux
 * routes all of 127.0.0.0/8 to `lo`, so `localAddress` can pick it).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { before, describe, test } from 'node:test';
import tls from 'node:tls';
import { idleFlood } from '@ratls/test-support/idle-flood';
import {
  type FakeAppraiser,
  fakeAppraiser,
  makeSelfSigned,
  type TestCredentials,
} from '@ratls/test-support/tls-testkit';
import { TLS_ERRORS } from '../decide/errors.js';
import { MAX_PRE_TLS_BYTES } from './acceptor.js';
import type { PreTlsReader } from './pre-tls.js';
import { type AttestationLimits, createServer } from './server.js';

let serverCreds: TestCredentials;
let good: TestCredentials;

before(async () => {
  [serverCreds, good] = await Promise.all([makeSelfSigned('server'), makeSelfSigned('good')]);
});

interface Running {
  server: tls.Server;
  port: number;
  verifier: FakeAppraiser;
  clients: Set<net.Socket>;
  close(): Promise<void>;
}

async function start(limits: AttestationLimits = {}): Promise<Running> {
  const verifier = fakeAppraiser([good.fingerprint], { identity: 'app' });
  const server = createServer({ ...serverCreds, attestation: { verifier, ...limits } }, (s) => s.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  const clients = new Set<net.Socket>();
  return {
    server,
    port,
    verifier,
    clients,
    async close() {
      for (const c of clients) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A TCP socket from `from` that never sends a byte. Resolves once connected. */
async function idle(r: Running, from = '127.0.0.1'): Promise<net.Socket> {
  const s = net.connect({ port: r.port, host: '127.0.0.1', localAddress: from });
  s.on('error', () => undefined);
  s.resume();
  r.clients.add(s);
  await once(s, 'connect');
  return s;
}

function closed(s: net.Socket): Promise<void> {
  return s.destroyed ? Promise.resolve() : new Promise((res) => s.once('close', () => res()));
}

/** An attested client from `from`; resolves with what the server's handler sent ('' if refused). */
function attestedClient(r: Running, from: string, socket?: net.Socket): Promise<string> {
  const c = tls.connect({
    ...(socket ? { socket } : { host: '127.0.0.1', port: r.port, localAddress: from }),
    key: good.key,
    cert: good.cert,
    rejectUnauthorized: false,
  });
  c.on('error', () => undefined);
  r.clients.add(c);
  const got: Buffer[] = [];
  c.on('data', (d: Buffer) => got.push(d));
  return closed(c).then(() => Buffer.concat(got).toString());
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((res) => setTimeout(res, 10));
  }
}

const codes = (v: FakeAppraiser, code: string) => v.rejects.filter((e) => e.code === code).length;

describe('pre-TLS acceptor', () => {
  test('finding 7: 1,100 idle sockets from one source do not lock out an attested client from another', async () => {
    const r = await start();
    const flood = idleFlood(r.port, '127.0.0.1', 1_100);
    try {
      await flood.ready;
      // 32 (the default per-source cap) wait for their first byte; every other one is refused on
      // accept, each with exactly one audit event.
      await until(() => codes(r.verifier, TLS_ERRORS.TOO_MANY_FROM_SOURCE) === 1_100 - 32);
      const t0 = Date.now();
      assert.equal(await attestedClient(r, '127.0.0.2'), 'ok');
      const ms = Date.now() - t0;
      assert.ok(ms < 1000, `attested client took ${ms} ms`);
      assert.equal(r.verifier.calls.length, 1);
      assert.equal(r.verifier.calls[0]?.ctx.peer.ip, '127.0.0.2');
      assert.equal(r.verifier.rejects.length, 1_100 - 32);
      // The attacker's process sees each close a little after the server made it: wait for the
      // closes to arrive (bounded), then require exactly the refused ones and no more.
      let seen = await flood.closedCount();
      for (let i = 0; i < 100 && seen < 1_100 - 32; i++) {
        await new Promise((res) => setTimeout(res, 20));
        seen = await flood.closedCount();
      }
      assert.equal(seen, 1_100 - 32);
    } finally {
      await flood.stop();
      await r.close();
    }
  });

  test('the 33rd idle socket from one source is refused on accept; another source is still admitted', async () => {
    const r = await start();
    try {
      const held = [];
      for (let i = 0; i < 32; i++) held.push(await idle(r));
      const t0 = Date.now();
      const extra = await idle(r);
      await closed(extra);
      assert.ok(Date.now() - t0 < 500);
      assert.deepEqual(
        r.verifier.rejects.map((e) => e.code),
        [TLS_ERRORS.TOO_MANY_FROM_SOURCE],
      );
      assert.match(r.verifier.rejects[0]?.message ?? '', /32 connections from 127\.0\.0\.1/);
      const other = await idle(r, '127.0.0.2');
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(other.destroyed, false);
      // A slot freed is a slot to take again.
      held[0]?.destroy();
      await until(() => codes(r.verifier, TLS_ERRORS.CLOSED_BEFORE_DECISION) === 1);
      const again = await idle(r);
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(again.destroyed, false);
      assert.equal(codes(r.verifier, TLS_ERRORS.TOO_MANY_FROM_SOURCE), 1);
    } finally {
      await r.close();
    }
  });

  test('maxPendingPerSource is configurable', async () => {
    const r = await start({ maxPendingPerSource: 2 });
    try {
      await idle(r);
      await idle(r);
      await closed(await idle(r));
      assert.deepEqual(
        r.verifier.rejects.map((e) => e.code),
        [TLS_ERRORS.TOO_MANY_FROM_SOURCE],
      );
    } finally {
      await r.close();
    }
  });

  test('first-byte timeout: silent and half-header sockets are closed at clientHelloTimeoutMs', async () => {
    const r = await start({ clientHelloTimeoutMs: 150, handshakeTimeoutMs: 5000 });
    try {
      const t0 = Date.now();
      const silent = await idle(r);
      const partial = await idle(r);
      partial.write(Buffer.from([0x16, 0x03, 0x01])); // three of the five header bytes
      await Promise.all([closed(silent), closed(partial)]);
      const ms = Date.now() - t0;
      assert.ok(ms >= 140 && ms < 1500, `closed after ${ms} ms`);
      await until(() => r.verifier.rejects.length === 2);
      assert.deepEqual(
        r.verifier.rejects.map((e) => e.code),
        [TLS_ERRORS.CLIENT_HELLO_TIMEOUT, TLS_ERRORS.CLIENT_HELLO_TIMEOUT],
      );
    } finally {
      await r.close();
    }
  });

  test('after a complete record header, the handshake deadline from accept still applies', async () => {
    const r = await start({ clientHelloTimeoutMs: 100, handshakeTimeoutMs: 400 });
    try {
      const t0 = Date.now();
      const stalled = await idle(r);
      stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])); // header, then one body byte
      await closed(stalled);
      const ms = Date.now() - t0;
      assert.ok(ms >= 380 && ms < 2000, `closed after ${ms} ms`);
      await until(() => r.verifier.rejects.length === 1);
      assert.equal(r.verifier.rejects[0]?.code, TLS_ERRORS.HANDSHAKE_TIMEOUT);
    } finally {
      await r.close();
    }
  });

  test('a non-TLS first byte is refused at once with its own code', async () => {
    const r = await start({ clientHelloTimeoutMs: 5000 });
    try {
      const t0 = Date.now();
      const s = await idle(r);
      s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await closed(s);
      assert.ok(Date.now() - t0 < 500);
      await until(() => r.verifier.rejects.length === 1);
      assert.equal(r.verifier.rejects[0]?.code, TLS_ERRORS.NOT_TLS_HANDSHAKE);
      assert.equal(r.verifier.calls.length, 0);
    } finally {
      await r.close();
    }
  });

  test('a peer that resets before TLS (ECONNRESET on the server side) is one audit event, no crash', async () => {
    const r = await start();
    try {
      const s = await idle(r);
      s.write(Buffer.from([0x16]));
      await new Promise((res) => setTimeout(res, 30));
      s.resetAndDestroy();
      await until(() => r.verifier.rejects.length === 1);
      assert.equal(r.verifier.rejects[0]?.code, TLS_ERRORS.CLOSED_BEFORE_DECISION);
      assert.equal(await attestedClient(r, '127.0.0.1'), 'ok');
    } finally {
      await r.close();
    }
  });

  test('attestationRejected reports pre-TLS refusals with the peer', async () => {
    const r = await start({ maxPendingPerSource: 1 });
    const seen: Array<{ code: string; ip?: string }> = [];
    r.server.on('attestationRejected', (e: { code: string }, peer: { ip?: string }) =>
      seen.push({ code: e.code, ...(peer.ip ? { ip: peer.ip } : {}) }),
    );
    try {
      await idle(r);
      await closed(await idle(r));
      const s = await idle(r, '127.0.0.2');
      s.write('\x00');
      await closed(s);
      assert.deepEqual(seen, [
        { code: TLS_ERRORS.TOO_MANY_FROM_SOURCE, ip: '127.0.0.1' },
        { code: TLS_ERRORS.NOT_TLS_HANDSHAKE, ip: '127.0.0.2' },
      ]);
    } finally {
      await r.close();
    }
  });
});

/** A stand-in for a later PROXY v2 reader: `SRC <ip>\n` declares the source; `BAD\n` is refused. */
const declaredSource: PreTlsReader = {
  name: 'test-source',
  declaresSource: (ip) => ip === '127.0.0.1',
  read(b) {
    const nl = b.indexOf(0x0a);
    if (nl < 0)
      return b.length > 64 ? { kind: 'refuse', code: 'ERR_TEST_PREFIX', message: 'too long' } : { kind: 'more' };
    const line = Buffer.from(b.subarray(0, nl)).toString('latin1');
    if (line === 'BAD') return { kind: 'refuse', code: 'ERR_TEST_PREFIX', message: 'refused prefix' };
    if (line === 'THROW') throw new Error('reader bug');
    if (line === 'OVER') return { kind: 'handoff', consumed: b.length + 1 };
    return { kind: 'handoff', consumed: nl + 1, source: { ip: line.slice(4), port: 4242 }, reply: Uint8Array.of(0x53) };
  },
};

/** Connects, sends `prefix`, waits for the reader's reply byte when one is expected, then speaks TLS. */
async function prefixed(r: Running, prefix: string, expectReply: boolean): Promise<string> {
  const raw = net.connect({ port: r.port, host: '127.0.0.1' });
  raw.on('error', () => undefined);
  r.clients.add(raw);
  await once(raw, 'connect');
  raw.write(prefix);
  if (expectReply) {
    const [b] = (await once(raw, 'data')) as [Buffer];
    assert.equal(b.toString(), 'S');
  } else {
    raw.resume();
    await closed(raw);
    return '';
  }
  return attestedClient(r, '127.0.0.1', raw);
}

describe('pre-TLS readers (the hook for PROXY v2 and SSLRequest)', () => {
  test('a reader consumes its bytes, replies, and declares the source that is audited and counted', async () => {
    const r = await start({ preTlsReaders: [declaredSource], maxPendingPerSource: 1 });
    try {
      assert.equal(await prefixed(r, 'SRC 192.0.2.7\n', true), 'ok');
      assert.deepEqual(r.verifier.calls[0]?.ctx.peer, { ip: '192.0.2.7', port: 4242, role: 'client' });
      // The declared source is what the cap counts: a second one from it is refused while the first waits.
      const first = net.connect({ port: r.port, host: '127.0.0.1' });
      first.on('error', () => undefined);
      r.clients.add(first);
      await once(first, 'connect');
      first.write('SRC 192.0.2.8\n');
      await once(first, 'data');
      assert.equal(await prefixed(r, 'SRC 192.0.2.8\n', false), '');
      await until(() => r.verifier.rejects.length === 1);
      assert.equal(r.verifier.rejects[0]?.code, TLS_ERRORS.TOO_MANY_FROM_SOURCE);
      assert.match(r.verifier.rejects[0]?.message ?? '', /192\.0\.2\.8/);
    } finally {
      await r.close();
    }
  });

  test('a peer that declares sources is not capped under its own address on accept', async () => {
    const r = await start({ preTlsReaders: [declaredSource], maxPendingPerSource: 1 });
    try {
      const a = await idle(r);
      const b = await idle(r);
      await new Promise((res) => setTimeout(res, 50));
      assert.equal(a.destroyed || b.destroyed, false);
      assert.equal(r.verifier.rejects.length, 0);
    } finally {
      await r.close();
    }
  });

  test('a reader refusal keeps its code; a throwing or overreaching reader fails closed', async () => {
    const r = await start({ preTlsReaders: [declaredSource] });
    try {
      await prefixed(r, 'BAD\n', false);
      await prefixed(r, 'THROW\n', false);
      await prefixed(r, 'OVER\n', false);
      await until(() => r.verifier.rejects.length === 3);
      assert.deepEqual(
        r.verifier.rejects.map((e) => e.code),
        ['ERR_TEST_PREFIX', TLS_ERRORS.PRE_TLS_FAILED, TLS_ERRORS.PRE_TLS_FAILED],
      );
      assert.equal(r.verifier.calls.length, 0);
    } finally {
      await r.close();
    }
  });

  test('bytes before TLS are bounded', async () => {
    const endless: PreTlsReader = { name: 'endless', read: () => ({ kind: 'more' }) };
    const r = await start({ preTlsReaders: [endless] });
    try {
      const s = await idle(r);
      s.write(Buffer.alloc(MAX_PRE_TLS_BYTES + 1, 0x41));
      await closed(s);
      await until(() => r.verifier.rejects.length === 1);
      assert.equal(r.verifier.rejects[0]?.code, TLS_ERRORS.PRE_TLS_TOO_LARGE);
    } finally {
      await r.close();
    }
  });
});
