import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientConfig } from './config.js';
import { keyLocationWarning } from './key-location.js';
import { checkLoopback, loopbackInsideTee } from './provider.js';

const config = (listen: string, extra = '') =>
  parseClientConfig(
    `version: 1\nlisteners:\n  - name: redis\n    connect: kms:6380\n    ca: ./ca.pem\n    listen: ${listen}\n${extra}`,
    '/etc/ratls/client.yaml',
  ).listeners;

describe('loopback inside the TEE', () => {
  it('SGX (Gramine) shares the host network stack; TDX, SEV-SNP and Nitro do not', () => {
    assert.equal(loopbackInsideTee({ tee: 'sgx' }), false);
    for (const tee of ['tdx', 'sev-snp', 'nitro'] as const) assert.equal(loopbackInsideTee({ tee }), true);
  });

  it('refuses loopback TCP under SGX with ERR_CLIENT_HOST_LOOPBACK, naming the key and line', () => {
    assert.throws(
      () => checkLoopback(config('127.0.0.1:6379'), { tee: 'sgx' }),
      (e: Error & { code?: string }) => {
        assert.equal(e.code, 'ERR_CLIENT_HOST_LOOPBACK');
        assert.match(e.message, /client\.yaml:6:13: listeners\[0\]\.listen: TCP on loopback is outside the TEE/);
        return true;
      },
    );
  });

  it('allows it under SGX only with allowHostLoopback, and then warns loudly', () => {
    const w = checkLoopback(config('127.0.0.1:6379', '    allowHostLoopback: true\n'), { tee: 'sgx' });
    assert.equal(w.length, 1);
    assert.match(w[0] ?? '', /^WARNING: .*OUTSIDE the SGX enclave/);
  });

  it('UNIX sockets under SGX and loopback TCP in a TDX guest need no exception', () => {
    assert.deepEqual(checkLoopback(config('unix:/run/ratls/redis.sock'), { tee: 'sgx' }), []);
    assert.deepEqual(checkLoopback(config('127.0.0.1:6379'), { tee: 'tdx' }), []);
  });
});

describe('where a written key is protected', () => {
  const TMPFS = 0x01021994;
  const EXT4 = 0xef53;
  it('Gramine: only under a named protected mount', () => {
    assert.match(keyLocationWarning('/data/app.key', 'sgx', [], () => TMPFS) ?? '', /encrypted mounts/);
    assert.equal(keyLocationWarning('/secrets/app.key', 'sgx', ['/secrets']), undefined);
    // A prefix of the name is not the directory.
    assert.match(keyLocationWarning('/secrets-old/app.key', 'sgx', ['/secrets']) ?? '', /not under a protected path/);
  });

  it('TDX / SEV-SNP: memory-backed file systems, or a named encrypted mount', () => {
    assert.equal(
      keyLocationWarning('/dev/shm/app.key', 'tdx', [], () => TMPFS),
      undefined,
    );
    assert.match(keyLocationWarning('/var/lib/app.key', 'sev-snp', [], () => EXT4) ?? '', /visible to the host/);
    assert.equal(
      keyLocationWarning('/mnt/crypt/app.key', 'tdx', ['/mnt/crypt'], () => EXT4),
      undefined,
    );
  });

  it('Nitro: the enclave file system is enclave memory', () => {
    assert.equal(
      keyLocationWarning('/app/app.key', 'nitro', [], () => EXT4),
      undefined,
    );
  });
});
