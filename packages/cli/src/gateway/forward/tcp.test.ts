import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { endOnce } from './tcp.js';

/** A connected pair on 127.0.0.1, port 0; both ends are closed by the caller. */
async function pair(): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const client = net.connect((srv.address() as net.AddressInfo).port, '127.0.0.1');
  const server = await accepted;
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

test('endOnce ends an open socket: the peer reads its end', async () => {
  const p = await pair();
  try {
    const ended = new Promise<void>((r) => p.server.once('end', () => r()));
    p.server.resume();
    endOnce(p.client);
    assert.equal(p.client.writableEnded, true);
    await ended;
  } finally {
    p.close();
  }
});

test('endOnce on an ended or destroyed socket does nothing (no error, no second end)', async () => {
  const p = await pair();
  try {
    let ends = 0;
    const end = p.client.end.bind(p.client);
    p.client.end = ((...a: Parameters<typeof end>) => {
      ends++;
      return end(...a);
    }) as typeof p.client.end;
    const errors: Error[] = [];
    p.client.on('error', (e) => errors.push(e));
    endOnce(p.client);
    endOnce(p.client);
    assert.equal(ends, 1);
    p.client.destroy();
    endOnce(p.client);
    assert.equal(ends, 1);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(errors, []);
  } finally {
    p.close();
  }
});
