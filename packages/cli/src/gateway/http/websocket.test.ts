import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { upgradeRefusal } from './websocket.js';

const H = ['Host', 'a', 'Connection', 'Upgrade'];

describe('WebSocket upgrade admission', () => {
  it('relays Upgrade: websocket on an HTTP/1.1 GET (token case-insensitive)', () => {
    assert.equal(upgradeRefusal('GET', '1.1', [...H, 'Upgrade', 'websocket']), undefined);
    assert.equal(upgradeRefusal('GET', '1.1', [...H, 'Upgrade', 'WebSocket']), undefined);
  });

  it('refuses h2c, TLS/1.0, several protocols and several Upgrade fields with ERR_HTTP_UPGRADE', () => {
    for (const up of [
      ['Upgrade', 'h2c'],
      ['Upgrade', 'TLS/1.0'],
      ['Upgrade', 'websocket, h2c'],
      ['Upgrade', 'websocket', 'upgrade', 'h2c'],
    ]) {
      const r = upgradeRefusal('GET', '1.1', [...H, ...up]);
      assert.equal(r?.code, 'ERR_HTTP_UPGRADE', up.join(' '));
      assert.equal(r?.status, 501);
    }
  });

  it('refuses a WebSocket upgrade that is not an HTTP/1.1 GET', () => {
    assert.equal(upgradeRefusal('POST', '1.1', [...H, 'Upgrade', 'websocket'])?.code, 'ERR_HTTP_UPGRADE');
    assert.equal(upgradeRefusal('GET', '1.0', [...H, 'Upgrade', 'websocket'])?.code, 'ERR_HTTP_UPGRADE');
  });
});
