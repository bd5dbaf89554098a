/**
 * Channel mode under attack, over real TLS on 127.0.0.1 (curl and openssl are real processes).
 * Every attacker HOLDS the enclave's stolen private key and certificate, so the TLS handshake and
 * the certificate appraisal succeed; what refuses them is the channel binding, with its own code.
 * Nothing from a refused peer reaches the application handler.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import tls from 'node:tls';
import {
  buildRaTlsCertificate,
  createChannelAttester,
  exportPrivateKeyPem,
  generateKeyPair,
  type QuoteProvider,
} from '@ratls/attester';
import { type ChannelAnswer, ChannelFrameBuffer, type ChannelMessage, encodeChannelFrame } from '@ratls/evidence';
import { initSimulation, type SimState, SimulatedQuoteProvider } from '@ratls/sim';
import { haveBinary, run } from '@ratls/test-support/gateway-helpers';
import { makeSelfSigned } from '@ratls/test-support/tls-testkit';
import type { AuditEvent } from '../audit/event.js';
import { createAuditLog } from '../audit/log.js';
import { AttestationRefusedError } from '../decide/errors.js';
import { createPeerVerifier } from '../decide/peer-verifier.js';
import { parsePolicy } from '../policy/parse.js';
import { connectAttested } from '../tls/client.js';
import { channelRefusalResponse, createServer } from '../tls/server.js';
import { type TrustAnchor, trustAnchorFrom } from '../trust.js';

const AT = new Date('2026-03-01T12:00:00Z').getTime();
const MR_A = '11'.repeat(32);
const MR_B = '44'.repeat(32);
const SIGNER = '22'.repeat(32);
const NEED = (b: string) => (haveBinary(b) || process.env.CI ? false : `${b} not installed`);

let dir: string;
let sim: SimState;
let anchor: TrustAnchor;
let collateral: string;
/** The genuine enclave A: its key pair (which the attacker steals) and its certificate. */
let enclaveA: { key: string; cert: string; provider: QuoteProvider };
/** The same stolen key, certificate re-signed with new validity dates around the same quote. */
let reissued: { key: string; cert: string };
/** Another genuine enclave (B) with its own provider: the attacker's own TEE. */
let providerB: QuoteProvider;
let serverCreds: { key: string; cert: string; provider: QuoteProvider };

function policy(freshness: 'certificate' | 'channel') {
  return parsePolicy(
    `version: 1
defaults:
  simulated: true
  freshness: ${freshness}
identities:
  - name: app
    sgx: { mrEnclave: [ "${MR_A}" ] }
  - name: other
    sgx: { mrEnclave: [ "${MR_B}" ] }
`,
    { source: `channel-${freshness}` },
  );
}

async function creds(mrEnclave: string, notBefore?: Date) {
  const provider = new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave, mrSigner: SIGNER });
  const keyPair = await generateKeyPair();
  const c = await buildRaTlsCertificate({
    keyPair,
    provider,
    clock: () => AT,
    ...(notBefore ? { notBefore } : {}),
  });
  return { keyPair, cert: c, key: exportPrivateKeyPem(keyPair), provider };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-channel-'));
  sim = await initSimulation(dir, { at: new Date(AT), collateralDays: 30 });
  anchor = trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'));
  collateral = await readFile(join(dir, 'collateral.json'), 'utf8');
  const a = await creds(MR_A);
  enclaveA = { key: a.key, cert: a.cert.pem, provider: a.provider };
  const quote = a.cert.attestations[0]?.evidence;
  assert.ok(quote);
  const replay: QuoteProvider = { name: 'replay', tee: 'sgx', getEvidence: async () => quote };
  const r = await buildRaTlsCertificate({
    keyPair: a.keyPair,
    provider: replay,
    clock: () => AT + 3_600_000,
    notBefore: new Date(AT - 1000),
    validitySeconds: 30 * 24 * 3600,
  });
  reissued = { key: a.key, cert: r.pem };
  providerB = new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave: MR_B, mrSigner: SIGNER });
  const s = await creds(MR_A);
  serverCreds = { key: s.key, cert: s.cert.pem, provider: s.provider };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function verifier(freshness: 'certificate' | 'channel', events: AuditEvent[]) {
  return createPeerVerifier({
    policy: policy(freshness),
    trustAnchors: [anchor],
    collateral,
    audit: createAuditLog({ sink: { callback: (e) => events.push(e) } }),
    listener: 'channel-test',
  });
}

interface Started {
  port: number;
  events: AuditEvent[];
  /** Bytes the application handler received, per accepted connection. */
  received: string[];
  close(): Promise<void>;
}

async function startServer(
  freshness: 'certificate' | 'channel',
  timeoutMs = 2_000,
  tlsExtra: tls.TlsOptions = {},
): Promise<Started> {
  const events: AuditEvent[] = [];
  const received: string[] = [];
  const server = createServer(
    {
      ...tlsExtra,
      key: serverCreds.key,
      cert: serverCreds.cert,
      attestation: {
        verifier: verifier(freshness, events),
        clock: () => AT + 60_000,
        channel: { attester: createChannelAttester({ provider: serverCreds.provider }), timeoutMs },
      },
    },
    (socket) => {
      let got = '';
      received.push(got);
      const i = received.length - 1;
      socket.on('data', (d: Buffer) => {
        got += d.toString('latin1');
        received[i] = got;
        if (got.includes('\n')) socket.end(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok`);
      });
      socket.on('error', () => undefined);
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    events,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** Waits (bounded) until the server recorded `n` audit events. */
async function eventsSettled(s: Started, n: number): Promise<AuditEvent[]> {
  for (let i = 0; i < 100 && s.events.length < n; i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 100));
  return s.events;
}

/** A raw TLS client holding `who`'s key and certificate; resolves once the handshake is done. */
async function rawClient(port: number, who: { key: string; cert: string }, extra: tls.ConnectionOptions = {}) {
  const s = tls.connect({ host: '127.0.0.1', port, key: who.key, cert: who.cert, rejectUnauthorized: false, ...extra });
  s.on('error', () => undefined);
  await new Promise<void>((resolve) => {
    s.once('secureConnect', () => resolve());
    s.once('close', () => resolve());
  });
  return s;
}

/** Reads channel frames from a raw socket until `n` frames arrived or it closed. */
function readFrames(s: tls.TLSSocket, n: number): Promise<ChannelMessage[]> {
  const buf = new ChannelFrameBuffer();
  const out: ChannelMessage[] = [];
  return new Promise((resolve) => {
    const done = () => resolve(out);
    s.on('data', (d: Buffer) => {
      buf.push(d);
      for (;;) {
        const m = buf.next();
        if (m === 'more' || m === 'app') break;
        out.push(m);
      }
      if (out.length >= n) done();
    });
    s.on('close', done);
  });
}

function closed(s: tls.TLSSocket): Promise<void> {
  // Read to the end, so the peer's FIN is seen.
  s.resume();
  return s.destroyed ? Promise.resolve() : new Promise((r) => s.once('close', () => r()));
}

function lastError(events: AuditEvent[]): string | undefined {
  return events.at(-1)?.error?.code;
}

describe('channel mode: genuine peers', () => {
  test('mutual channel mode: both sides challenge, both answer, one audit event each side saying channel', async () => {
    const s = await startServer('channel');
    const clientEvents: AuditEvent[] = [];
    try {
      const socket = await connectAttested({
        host: '127.0.0.1',
        port: s.port,
        key: enclaveA.key,
        cert: enclaveA.cert,
        attestation: {
          verifier: verifier('channel', clientEvents),
          clock: () => AT + 60_000,
          channel: { attester: createChannelAttester({ provider: enclaveA.provider }) },
        },
      });
      assert.equal(socket.attestation.identity, 'app');
      const reply = once(socket, 'data');
      socket.write('GET / HTTP/1.1\n');
      assert.match(String((await reply)[0]), /200 OK/);
      socket.destroy();
      const ev = await eventsSettled(s, 1);
      assert.equal(ev.length, 1);
      assert.equal(ev[0]?.event.outcome, 'success');
      assert.equal(ev[0]?.attestation?.freshness, 'channel');
      assert.equal(clientEvents.length, 1);
      assert.equal(clientEvents[0]?.attestation?.freshness, 'channel');
      assert.deepEqual(s.received, ['GET / HTTP/1.1\n']);
    } finally {
      await s.close();
    }
  });
  test('a server that ends right after the exchange, before any request, is a plain end, not a refusal', async () => {
    const server = createServer(
      {
        key: serverCreds.key,
        cert: serverCreds.cert,
        attestation: {
          verifier: verifier('channel', []),
          clock: () => AT + 60_000,
          channel: { attester: createChannelAttester({ provider: serverCreds.provider }) },
        },
      },
      (socket) => socket.end(),
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const socket = await connectAttested({
        host: '127.0.0.1',
        port: (server.address() as net.AddressInfo).port,
        key: enclaveA.key,
        cert: enclaveA.cert,
        attestation: {
          verifier: verifier('channel', []),
          clock: () => AT + 60_000,
          channel: { attester: createChannelAttester({ provider: enclaveA.provider }) },
        },
      });
      assert.ok(socket.bytesWritten > 0, 'the exchange wrote its answer frames');
      const ended = await new Promise<string>((resolve) => {
        socket.once('error', (e) => resolve(`error ${(e as { code?: string }).code}`));
        socket.once('end', () => resolve('end'));
        socket.resume();
      });
      assert.equal(ended, 'end');
      socket.destroy();
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('channel mode: stolen credentials', () => {
  test('plain Node client: accepted in certificate mode, refused with no-binding in channel mode', async () => {
    for (const mode of ['certificate', 'channel'] as const) {
      const s = await startServer(mode);
      try {
        const c = await rawClient(s.port, enclaveA);
        c.write('GET / HTTP/1.1\n');
        const data: Buffer[] = [];
        c.on('data', (d: Buffer) => data.push(d));
        await closed(c);
        const ev = await eventsSettled(s, 1);
        assert.equal(ev.length, 1, mode);
        if (mode === 'certificate') {
          assert.equal(ev[0]?.event.outcome, 'success');
          assert.equal(ev[0]?.attestation?.freshness, 'certificate');
          assert.match(Buffer.concat(data).toString(), /200 OK/);
        } else {
          assert.equal(lastError(ev), 'ERR_CHANNEL_NO_BINDING');
          assert.equal(ev[0]?.attestation?.freshness, 'channel');
          assert.deepEqual(s.received, []);
        }
      } finally {
        await s.close();
      }
    }
  });

  test('re-issued certificate (stolen key, new dates, same quote): accepted in certificate mode, refused in channel mode', async () => {
    for (const mode of ['certificate', 'channel'] as const) {
      const s = await startServer(mode);
      try {
        const c = await rawClient(s.port, reissued);
        c.write('GET / HTTP/1.1\n');
        await closed(c);
        const ev = await eventsSettled(s, 1);
        if (mode === 'certificate') assert.equal(ev[0]?.event.outcome, 'success', JSON.stringify(ev[0]?.error));
        else {
          assert.equal(lastError(ev), 'ERR_CHANNEL_NO_BINDING');
          assert.deepEqual(s.received, []);
        }
      } finally {
        await s.close();
      }
    }
  });

  test('curl with the stolen key: accepted in certificate mode, refused in channel mode', {
    skip: NEED('curl'),
  }, async () => {
    const keyFile = join(dir, 'stolen.key');
    const certFile = join(dir, 'stolen.crt');
    await writeFile(keyFile, enclaveA.key, { mode: 0o600 });
    await writeFile(certFile, enclaveA.cert);
    for (const mode of ['certificate', 'channel'] as const) {
      const s = await startServer(mode);
      try {
        const r = await run('curl', [
          '-sk',
          '--max-time',
          '10',
          '--cert',
          certFile,
          '--key',
          keyFile,
          `https://127.0.0.1:${s.port}/`,
        ]);
        const ev = await eventsSettled(s, 1);
        if (mode === 'certificate') {
          assert.equal(r.stdout, 'ok');
          assert.equal(ev[0]?.event.outcome, 'success');
        } else {
          assert.equal(r.stdout, '');
          assert.equal(lastError(ev), 'ERR_CHANNEL_NO_BINDING');
          assert.deepEqual(s.received, []);
        }
      } finally {
        await s.close();
      }
    }
  });

  test('openssl s_client with the stolen key: accepted in certificate mode, refused in channel mode', {
    skip: NEED('openssl'),
  }, async () => {
    const keyFile = join(dir, 'stolen-o.key');
    const certFile = join(dir, 'stolen-o.crt');
    await writeFile(keyFile, enclaveA.key, { mode: 0o600 });
    await writeFile(certFile, enclaveA.cert);
    for (const mode of ['certificate', 'channel'] as const) {
      const s = await startServer(mode);
      try {
        const r = await run(
          'openssl',
          ['s_client', '-connect', `127.0.0.1:${s.port}`, '-cert', certFile, '-key', keyFile, '-quiet', '-ign_eof'],
          { input: 'GET / HTTP/1.1\n', timeoutMs: 15_000 },
        );
        const ev = await eventsSettled(s, 1);
        if (mode === 'certificate') {
          assert.match(r.stdout, /200 OK/);
          assert.equal(ev[0]?.event.outcome, 'success');
        } else {
          assert.doesNotMatch(r.stdout, /200 OK/);
          assert.equal(lastError(ev), 'ERR_CHANNEL_NO_BINDING');
          assert.deepEqual(s.received, []);
        }
      } finally {
        await s.close();
      }
    }
  });
});

/** Speaks the protocol with the stolen credentials: hello with no challenge, then `answer(nonce)`. */
async function protocolAttacker(
  port: number,
  answer: (nonce: Uint8Array, socket: tls.TLSSocket) => Promise<Uint8Array>,
  who = enclaveA,
  extra: tls.ConnectionOptions = {},
) {
  const c = await rawClient(port, who, extra);
  const frames = readFrames(c, 1);
  c.write(encodeChannelFrame({ type: 'hello' }));
  const [hello] = await frames;
  assert.ok(hello?.type === 'hello' && hello.nonce, 'the server challenges');
  c.write(await answer(hello.nonce, c));
  c.write('GET / HTTP/1.1\n');
  await closed(c);
  return c;
}

describe('channel mode: protocol-speaking attackers', () => {
  test('replay: evidence recorded from an earlier bound connection is refused on a new one', async () => {
    const s = await startServer('channel');
    try {
      let recorded: ChannelAnswer | undefined;
      const genuine = createChannelAttester({ provider: enclaveA.provider });
      await protocolAttacker(s.port, async (nonce, socket) => {
        recorded = await genuine.answer(socket, nonce, 'me');
        return encodeChannelFrame(recorded);
      });
      assert.equal((await eventsSettled(s, 1))[0]?.event.outcome, 'success');
      assert.ok(recorded);
      const replayed = recorded;
      await protocolAttacker(s.port, async () => encodeChannelFrame(replayed));
      const ev = await eventsSettled(s, 2);
      assert.equal(ev.length, 2);
      assert.equal(lastError(ev), 'ERR_CHANNEL_BINDING_MISMATCH');
      assert.deepEqual(s.received, ['GET / HTTP/1.1\n']);
    } finally {
      await s.close();
    }
  });

  test('mismatch: fresh bound evidence of another enclave under a valid certificate is refused', async () => {
    const s = await startServer('channel');
    try {
      const mine = createChannelAttester({ provider: providerB });
      await protocolAttacker(s.port, async (nonce, socket) =>
        encodeChannelFrame(await mine.answer(socket, nonce, 'me')),
      );
      const ev = await eventsSettled(s, 1);
      assert.equal(lastError(ev), 'ERR_CHANNEL_IDENTITY_MISMATCH');
      assert.deepEqual(s.received, []);
    } finally {
      await s.close();
    }
  });

  test('no answer, garbage, two answers, oversized: each refused within the bound with its code', async () => {
    const s = await startServer('channel', 800);
    const genuine = createChannelAttester({ provider: enclaveA.provider, perSourceBurst: 100 });
    const cases: [string, (nonce: Uint8Array, socket: tls.TLSSocket) => Promise<Uint8Array>][] = [
      ['ERR_CHANNEL_TIMEOUT', async () => new Uint8Array(0)],
      ['ERR_CHANNEL_FRAME_INVALID', async () => new Uint8Array([0x52, 0x41, 0x43, 0x48, 9, 2, 0, 0, 0, 1, 0])],
      [
        'ERR_CHANNEL_UNEXPECTED_FRAME',
        async (nonce, socket) => {
          const f = encodeChannelFrame(await genuine.answer(socket, nonce, 'me'));
          return new Uint8Array([...f, ...f]);
        },
      ],
      ['ERR_CHANNEL_FRAME_TOO_LARGE', async () => new Uint8Array([0x52, 0x41, 0x43, 0x48, 1, 2, 0x00, 0x10, 0, 0])],
    ];
    try {
      let n = 0;
      for (const [want, answer] of cases) {
        const started = Date.now();
        const c = await rawClient(s.port, enclaveA);
        const frames = readFrames(c, 1);
        c.write(encodeChannelFrame({ type: 'hello' }));
        const [hello] = await frames;
        assert.ok(hello?.type === 'hello' && hello.nonce);
        const bytes = await answer(hello.nonce, c);
        if (bytes.byteLength > 0) c.write(bytes);
        await closed(c);
        n++;
        const ev = await eventsSettled(s, n);
        assert.equal(ev.length, n, want);
        assert.equal(lastError(ev), want);
        assert.ok(Date.now() - started < 5_000, `${want} within the bound`);
      }
      assert.deepEqual(s.received, []);
    } finally {
      await s.close();
    }
  });

  test('certificate-mode decision on a channel-enabled listener: malformed frames refuse with exactly one audit event', async () => {
    const s = await startServer('certificate', 800);
    try {
      const c = await rawClient(s.port, enclaveA);
      c.write(new Uint8Array([0x52, 0x41, 0x43, 0x48, 9, 2, 0, 0, 0, 1, 0]));
      await closed(c);
      const ev = await eventsSettled(s, 2);
      assert.equal(ev.length, 1, `one event per attempt: ${JSON.stringify(ev.map((e) => e.event.outcome))}`);
      assert.deepEqual(s.received, []);
    } finally {
      await s.close();
    }
  });

  test('a second answer sent after the decision is application data, never evidence (docs/formats.md)', async () => {
    const s = await startServer('channel', 800);
    const genuine = createChannelAttester({ provider: enclaveA.provider, perSourceBurst: 100 });
    try {
      // A second answer behind the first, or arriving while it is appraised, refuses (the
      // garbage cases above). One sent after the decision, split across records, reaches the
      // handler as bytes: it is never appraised and makes no second decision.
      const c = await rawClient(s.port, enclaveA);
      const frames = readFrames(c, 1);
      c.write(encodeChannelFrame({ type: 'hello' }));
      const [hello] = await frames;
      assert.ok(hello?.type === 'hello' && hello.nonce);
      const f = encodeChannelFrame(await genuine.answer(c, hello.nonce, 'me'));
      c.write(f);
      const ev = await eventsSettled(s, 1);
      assert.equal(ev.length, 1);
      assert.equal(ev[0]?.event.outcome, 'success', 'the first answer decided');
      c.write(f.subarray(0, 2));
      await new Promise((r) => setTimeout(r, 50));
      c.write(Buffer.concat([f.subarray(2), Buffer.from('\n')]));
      await closed(c);
      assert.equal(s.events.length, 1, 'no second decision: the late copy was not appraised');
      assert.equal(s.received.length, 1);
      assert.ok((s.received[0] ?? '').startsWith('RACH'), 'the handler read the late copy as its bytes');
    } finally {
      await s.close();
    }
  });

  test('TLS 1.2 is refused in channel mode with its own code', async () => {
    const s = await startServer('channel');
    try {
      const c = await rawClient(s.port, enclaveA, { maxVersion: 'TLSv1.2' });
      c.write(encodeChannelFrame({ type: 'hello' }));
      await closed(c);
      assert.equal(lastError(await eventsSettled(s, 1)), 'ERR_CHANNEL_TLS_VERSION');
      assert.deepEqual(s.received, []);
    } finally {
      await s.close();
    }
  });

  /**
   * The resumption attempt is made the way an attacker would: another TLS server holding the same
   * ticket keys (a sibling behind the balancer, or the attacker's copy of the keys) issues the
   * ticket, and the client offers it to the attested server. TLS 1.3 resumption (RFC 8446 §2.2)
   * does not send the server certificate again, so the attested server accepts the PSK
   * (isSessionReused) and must then refuse: a resumed session has no fresh handshake to bind.
   * The sibling uses an ordinary self-signed certificate: in our runs OpenSSL sent no
   * NewSessionTicket at all when both ends presented these simulated RA-TLS certificates (the
   * attested server issues none to its RA-TLS clients either), so a ticket must come from elsewhere.
   */
  test('resumption: a resumed session is refused in channel mode', async () => {
    const ticketKeys = randomBytes(48);
    const s = await startServer('channel', 2_000, { ticketKeys });
    const plainCert = await makeSelfSigned('sibling');
    const sibling = tls.createServer(
      { key: plainCert.key, cert: plainCert.cert, ticketKeys, requestCert: true, rejectUnauthorized: false },
      (sock) => {
        sock.on('error', () => undefined);
        sock.on('data', () => undefined);
      },
    );
    sibling.listen(0, '127.0.0.1');
    await once(sibling, 'listening');
    try {
      let session: Buffer | undefined;
      // Node asks OpenSSL for tickets only when a 'session' listener exists before the handshake.
      const first = tls.connect({
        host: '127.0.0.1',
        port: (sibling.address() as net.AddressInfo).port,
        key: enclaveA.key,
        cert: enclaveA.cert,
        rejectUnauthorized: false,
      });
      first.on('error', () => undefined);
      first.on('session', (b: Buffer) => {
        session = b;
      });
      await once(first, 'secureConnect');
      first.write('x');
      for (let i = 0; i < 80 && !session; i++) await new Promise((r) => setTimeout(r, 25));
      first.destroy();
      assert.ok(session, 'the sibling issued a session ticket');
      const again = await rawClient(s.port, enclaveA, { session });
      assert.equal(again.isSessionReused(), true, 'the attested server accepted the PSK: a real resumption');
      again.write(encodeChannelFrame({ type: 'hello' }));
      await closed(again);
      const ev = await eventsSettled(s, 1);
      assert.equal(ev.length, 1, 'one audit event for the attempt');
      assert.equal(lastError(ev), 'ERR_CHANNEL_RESUMED');
      assert.equal(s.received.length, 0);
    } finally {
      await new Promise<void>((r) => sibling.close(() => r()));
      await s.close();
    }
  });
});

describe('channel mode: relay through a machine in the middle', () => {
  test('a MITM with the stolen server key forwarding to the genuine server is refused by the client', async () => {
    const genuine = await startServer('channel');
    // The MITM terminates the victim's TLS with the stolen server key and relays application bytes.
    const mitm = tls.createServer(
      { key: serverCreds.key, cert: serverCreds.cert, requestCert: true, rejectUnauthorized: false },
      (down) => {
        const up = tls.connect({
          host: '127.0.0.1',
          port: genuine.port,
          key: enclaveA.key,
          cert: enclaveA.cert,
          rejectUnauthorized: false,
        });
        up.on('error', () => down.destroy());
        down.on('error', () => up.destroy());
        down.pipe(up).pipe(down);
      },
    );
    mitm.listen(0, '127.0.0.1');
    await once(mitm, 'listening');
    const clientEvents: AuditEvent[] = [];
    try {
      await assert.rejects(
        connectAttested({
          host: '127.0.0.1',
          port: (mitm.address() as net.AddressInfo).port,
          key: enclaveA.key,
          cert: enclaveA.cert,
          attestation: {
            verifier: verifier('channel', clientEvents),
            clock: () => AT + 60_000,
            channel: { attester: createChannelAttester({ provider: enclaveA.provider }) },
          },
        }),
        (e: { code?: string }) => e.code === 'ERR_CHANNEL_BINDING_MISMATCH',
      );
      assert.equal(clientEvents.length, 1);
      assert.equal(clientEvents[0]?.error?.code, 'ERR_CHANNEL_BINDING_MISMATCH');
      assert.deepEqual(genuine.received, []);
    } finally {
      await new Promise<void>((r) => mitm.close(() => r()));
      await genuine.close();
    }
  });
});

describe('channel mode: policy key', () => {
  test('freshness in defaults and per identity; any other value is refused on load', () => {
    const p = parsePolicy(
      `version: 1
defaults: { freshness: channel }
identities:
  - name: a
    sgx: { mrEnclave: [ "${MR_A}" ] }
  - name: b
    freshness: certificate
    sgx: { mrEnclave: [ "${MR_B}" ] }
`,
      { source: 'fresh' },
    );
    assert.equal(p.identities[0]?.effective.freshness, 'channel');
    assert.equal(p.identities[1]?.effective.freshness, 'certificate');
    assert.throws(
      () =>
        parsePolicy(
          `version: 1\ndefaults: { freshness: sometimes }\nidentities:\n  - name: a\n    sgx: { mrEnclave: [ "${MR_A}" ] }\n`,
          { source: 'bad' },
        ),
      (e: { code?: string }) => typeof e.code === 'string' && e.code.startsWith('ERR_POLICY'),
    );
  });
});

describe('channel mode: the server says why it refused (refusalResponse: channelRefusalResponse)', () => {
  const MR_STRANGER = '55'.repeat(32);

  async function refusingServer(handler: (s: tls.TLSSocket) => void = (s) => s.end('ok')) {
    const events: AuditEvent[] = [];
    const server = createServer(
      {
        key: serverCreds.key,
        cert: serverCreds.cert,
        attestation: {
          verifier: verifier('channel', events),
          clock: () => AT + 60_000,
          channel: { attester: createChannelAttester({ provider: serverCreds.provider }), timeoutMs: 2_000 },
          refusalResponse: channelRefusalResponse,
        },
      },
      handler,
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return {
      port: (server.address() as net.AddressInfo).port,
      events,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  }

  test('an enclave the policy does not know is told measurement_mismatch, explicitly, and nothing else', async () => {
    const stranger = await creds(MR_STRANGER);
    const s = await refusingServer();
    try {
      const err = await connectAttested({
        host: '127.0.0.1',
        port: s.port,
        key: stranger.key,
        cert: stranger.cert.pem,
        attestation: {
          verifier: verifier('channel', []),
          clock: () => AT + 60_000,
          channel: { attester: createChannelAttester({ provider: stranger.provider }) },
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof AttestationRefusedError, String(err));
      assert.equal(err.code, 'ERR_TLS_REFUSED_BY_SERVER');
      assert.equal(err.reason, 'measurement_mismatch');
      assert.equal(err.explicit, true);
      assert.doesNotMatch(err.message, new RegExp(MR_STRANGER));
      assert.equal(lastError(await eventsSettled({ ...s, received: [] }, 1)), 'ERR_POLICY_REJECTED');
    } finally {
      await s.close();
    }
  });

  test('a client that will not bind (application data first) is told channel_no_binding, as a typed error', async () => {
    const s = await refusingServer();
    try {
      // Certificate mode on the client: it accepts the server and writes at once.
      const socket = await connectAttested({
        host: '127.0.0.1',
        port: s.port,
        key: enclaveA.key,
        cert: enclaveA.cert,
        attestation: { verifier: verifier('certificate', []), clock: () => AT + 60_000 },
      });
      const err = await new Promise<unknown>((resolve) => {
        socket.once('error', resolve);
        socket.once('data', (d: Buffer) => resolve(`data ${d.toString('latin1')}`));
        socket.once('close', () => resolve('closed without a refusal'));
        socket.write('GET / HTTP/1.1\n');
      });

      assert.ok(err instanceof AttestationRefusedError, String(err));
      assert.equal(err.reason, 'channel_no_binding');
      assert.equal(lastError(await eventsSettled({ ...s, received: [] }, 1)), 'ERR_CHANNEL_NO_BINDING');
    } finally {
      await s.close();
    }
  });

  test('a malformed refusal frame from a server is not a refusal: the client refuses the server for it', async () => {
    // The attested server's own key and certificate, on a server that answers the hello with a
    // refusal frame whose reason is not a reason code.
    const body = new Uint8Array([0xa1, 0x01, 0x63, 0x42, 0x41, 0x44]); // { 1: "BAD" }
    const bad = new Uint8Array([0x52, 0x41, 0x43, 0x48, 1, 3, 0, 0, 0, body.byteLength, ...body]);
    const fake = tls.createServer({ key: serverCreds.key, cert: serverCreds.cert }, (sock) => {
      sock.on('error', () => undefined);
      sock.once('data', () => sock.end(bad));
    });
    fake.listen(0, '127.0.0.1');
    await once(fake, 'listening');
    try {
      const err = await connectAttested({
        host: '127.0.0.1',
        port: (fake.address() as net.AddressInfo).port,
        key: enclaveA.key,
        cert: enclaveA.cert,
        attestation: {
          verifier: verifier('channel', []),
          clock: () => AT + 60_000,
          channel: { attester: createChannelAttester({ provider: enclaveA.provider }) },
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(!(err instanceof AttestationRefusedError), String(err));
      assert.equal((err as { code?: string }).code, 'ERR_CHANNEL_FRAME_INVALID');
    } finally {
      await new Promise<void>((r) => fake.close(() => r()));
    }
  });

  test('a client sending a refusal frame is an unexpected frame, refused; the handler sees nothing', async () => {
    let handled = 0;
    const s = await refusingServer(() => {
      handled++;
    });
    try {
      const c = await rawClient(s.port, enclaveA);
      c.write(encodeChannelFrame({ type: 'refusal', reason: 'measurement_mismatch' }));
      await closed(c);
      assert.equal(lastError(await eventsSettled({ ...s, received: [] }, 1)), 'ERR_CHANNEL_UNEXPECTED_FRAME');
      assert.equal(handled, 0);
    } finally {
      await s.close();
    }
  });
});
