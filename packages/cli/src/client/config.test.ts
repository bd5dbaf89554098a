import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientConfig } from './config.js';

const SRC = '/etc/ratls/client.yaml';
const TRUST = 'trust:\n  anchors: [./root.pem]\n  collateral: ./collateral.json\npolicy: ./servers.yaml\n';
const ONE = 'listeners:\n  - name: redis\n    connect: kms.internal:6380\n';

function refused(text: string, code: string, re: RegExp): void {
  assert.throws(
    () => parseClientConfig(text, SRC),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, code, e.message);
      assert.match(e.message, re);
      return true;
    },
  );
}

describe('ratls client configuration', () => {
  it('normalizes: default UNIX socket beside the file, paths absolute, servername from connect', () => {
    const c = parseClientConfig(`version: 1\nsimulated: ./sim\n${TRUST}${ONE}`, SRC);
    const l = c.listeners[0];
    assert.deepEqual(l?.listen, { kind: 'unix', path: '/etc/ratls/redis.sock' });
    assert.equal(l?.listenDefaulted, true);
    assert.deepEqual(l?.connect, { host: 'kms.internal', port: 6380 });
    assert.equal(l?.servername, 'kms.internal');
    assert.deepEqual(l?.verify, { kind: 'attested', policy: '/etc/ratls/servers.yaml' });
    assert.deepEqual(c.attester, { kind: 'simulated', dir: '/etc/ratls/sim', tee: 'sgx', debug: false });
    assert.equal(c.freshness, 'certificate');
  });

  it('an unknown key is named, with its line', () => {
    refused(
      `version: 1\n${TRUST}${ONE}    sni: x\n`,
      'ERR_CLIENT_CONFIG',
      /client\.yaml:9:5: listeners\[0\]: unknown key 'sni'/,
    );
  });

  it('freshness: channel is accepted at the top (the default of every listener) and per listener', () => {
    const top = parseClientConfig(`version: 1\nfreshness: channel\n${TRUST}${ONE}`, SRC);
    assert.equal(top.freshness, 'channel');
    assert.equal(top.listeners[0]?.freshness, 'channel');
    const one = parseClientConfig(`version: 1\n${TRUST}${ONE}    freshness: channel\n`, SRC);
    assert.equal(one.freshness, 'certificate');
    assert.equal(one.listeners[0]?.freshness, 'channel');
    refused(`version: 1\nfreshness: fresh\n${TRUST}${ONE}`, 'ERR_CLIENT_CONFIG', /:2:\d+: freshness/);
  });

  it('a listener on a routable address is refused: whoever reaches it speaks as the enclave', () => {
    refused(
      `version: 1\n${TRUST}${ONE}    listen: 0.0.0.0:6379\n`,
      'ERR_CLIENT_CONFIG',
      /listeners\[0\]\.listen: expected unix/,
    );
    refused(`version: 1\n${TRUST}${ONE}    listen: 10.0.0.5:6379\n`, 'ERR_CLIENT_CONFIG', /listeners\[0\]\.listen/);
  });

  it('a server needs a policy (with trust) or an explicit CA, never both', () => {
    refused(`version: 1\n${ONE}`, 'ERR_CLIENT_CONFIG', /listeners\[0\]\.connect: no policy for this server/);
    refused(`version: 1\npolicy: ./p.yaml\n${ONE}`, 'ERR_CLIENT_CONFIG', /trust is required/);
    refused(
      `version: 1\n${TRUST}${ONE}    ca: ./ca.pem\n    policy: ./p.yaml\n`,
      'ERR_CLIENT_CONFIG',
      /listeners\[0\]\.ca: give either/,
    );
    const c = parseClientConfig(`version: 1\n${ONE}    ca: ./ca.pem\n`, SRC);
    assert.deepEqual(c.listeners[0]?.verify, { kind: 'ca', ca: '/etc/ratls/ca.pem' });
    assert.equal(c.trust, undefined);
  });

  it('duplicate names and sockets, port 0 upstreams and misplaced options are refused', () => {
    refused(
      `version: 1\n${TRUST}${ONE}${ONE.slice('listeners:\n'.length)}`,
      'ERR_CLIENT_CONFIG',
      /duplicate listener name redis/,
    );
    refused(`version: 1\n${TRUST}listeners:\n  - name: a\n    connect: h:0\n`, 'ERR_CLIENT_CONFIG', /connect: port 0/);
    refused(
      `version: 1\n${TRUST}${ONE}    allowHostLoopback: true\n`,
      'ERR_CLIENT_CONFIG',
      /allowHostLoopback: applies to TCP/,
    );
    refused(
      `version: 1\nprovider: nitro\nsimulated: ./sim\n${TRUST}${ONE}`,
      'ERR_CLIENT_CONFIG',
      /provider: give either/,
    );
    refused(
      `version: 1\ncredentials: { validitySeconds: 60, renewBeforeSeconds: 60 }\n${TRUST}${ONE}`,
      'ERR_CLIENT_CONFIG',
      /credentials\.renewBeforeSeconds: must be below/,
    );
    refused(
      `version: 1\nsimulated: { dir: ./sim, tee: tdx, mrEnclave: "${'ab'.repeat(32)}" }\n${TRUST}${ONE}`,
      'ERR_CLIENT_CONFIG',
      /simulated\.mrEnclave: SGX only/,
    );
  });
});
