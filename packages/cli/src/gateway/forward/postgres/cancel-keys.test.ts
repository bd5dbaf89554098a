import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { CancelKeys } from './cancel-keys.js';

describe('CancelKeys', () => {
  let server: net.Server;
  let port: number;
  const received: Buffer[] = [];

  before(async () => {
    server = net.createServer((s) => {
      const got: Buffer[] = [];
      s.on('data', (c) => got.push(c));
      s.on('end', () => {
        received.push(Buffer.concat(got));
        s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const key = { pid: 77, secret: Uint8Array.of(9, 8, 7, 6) };

  it('forwards only the cancel of a recorded session, as the 16-byte CancelRequest', async () => {
    const keys = new CancelKeys();
    const forget = keys.add(key, { identity: 'payments', backend: { host: '127.0.0.1', port } });
    assert.equal(keys.relay({ pid: 77, secret: Uint8Array.of(9, 8, 7, 5) }), false, 'wrong secret');
    assert.equal(keys.relay({ pid: 78, secret: key.secret }), false, 'wrong pid');
    assert.equal(keys.relay(key, 'other-identity'), false, 'another identity (over TLS)');
    assert.equal(keys.relay(key), true);
    for (let i = 0; i < 200 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(received[0]?.toString('hex'), '0000001004d2162e0000004d09080706');
    forget();
    assert.equal(keys.size, 0);
    assert.equal(keys.relay(key), false, 'forgotten when the session closed');
  });
});
