/**
 * The issuing side a gateway opens per process: files made once (CA key and EAR key 0600), read
 * identically by every worker, and `gateway --check` loading them without writing anything.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { tempDir } from '@ratls/test-support/gateway-helpers';
import { createLocalJWKSet, jwtVerify, SignJWT } from 'jose';
import type { IdentityConfig } from './config/config.js';
import { checkIdentity, openIdentityService, prepareIdentityFiles } from './identity-service.js';

const AT = Date.parse('2026-12-02T01:00:00Z');
const dir = tempDir('ratls-idsvc-');
after(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (name: string): IdentityConfig => ({
  trustDomain: 'prod.example.org',
  ca: { kind: 'dir', dir: join(dir, name, 'ca') },
  defaultTtlSec: 900,
  maxTtlSec: 3600,
  identityMaxTtlSec: {},
  ear: { issuer: 'https://gw', keysDir: join(dir, name, 'ear'), audiences: ['vault'] },
  listeners: ['id'],
});

async function refusedWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof RatlsError && e.code === code);
}

describe('identity service files', () => {
  it('--check before the first start warns and writes nothing; after it, loads cleanly', async () => {
    const c = cfg('fresh');
    const before = await checkIdentity(c, AT);
    assert.equal(before.length, 2);
    assert.equal(existsSync(join(dir, 'fresh')), false);
    await prepareIdentityFiles(c, AT);
    assert.equal(statSync(join(dir, 'fresh', 'ca', 'ca.key')).mode & 0o777, 0o600);
    const [key] = readdirSync(join(dir, 'fresh', 'ear'));
    assert.ok(key?.endsWith('.key'));
    assert.equal(statSync(join(dir, 'fresh', 'ear', key as string)).mode & 0o777, 0o600);
    assert.deepEqual(await checkIdentity(c, AT), []);
    chmodSync(join(dir, 'fresh', 'ca', 'ca.key'), 0o640);
    assert.match((await checkIdentity(c, AT))[0] ?? '', /readable by group or others/);
  });

  it('a second prepare (a restart, or another process) keeps the same CA and EAR key', async () => {
    const c = cfg('again');
    await prepareIdentityFiles(c, AT);
    const first = await openIdentityService(c, AT);
    await prepareIdentityFiles(c, AT + 60_000);
    const second = await openIdentityService(c, AT + 60_000);
    assert.deepEqual(second.ca.chainDer, first.ca.chainDer);
    assert.deepEqual(second.ring?.jwks(AT / 1000), first.ring?.jwks(AT / 1000));
  });

  it('two workers reading one keys folder: a token one signs verifies against the JWKS the other serves', async () => {
    const c = cfg('workers');
    await prepareIdentityFiles(c, AT);
    const [w1, w2] = [await openIdentityService(c, AT), await openIdentityService(c, AT)];
    const k = w1.ring?.current();
    assert.ok(k);
    const jwt = await new SignJWT({ sub: 'payments' })
      .setProtectedHeader({ alg: 'ES256', kid: k.kid })
      .setAudience('vault')
      .sign(k.privateKey);
    const jwks = createLocalJWKSet(w2.ring?.jwks(AT / 1000) ?? { keys: [] });
    assert.equal((await jwtVerify(jwt, jwks, { audience: 'vault' })).payload.sub, 'payments');
  });

  it('half a CA pair, an empty keys folder, or a key that is not EC P-256 is ERR_IDENTITY_CONFIG', async () => {
    const c = cfg('broken');
    await prepareIdentityFiles(c, AT);
    const ear = join(dir, 'broken', 'ear');
    for (const f of readdirSync(ear)) unlinkSync(join(ear, f));
    await refusedWith(openIdentityService(c, AT), 'ERR_IDENTITY_CONFIG');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(join(ear, 'rsa.key'), rsa, { mode: 0o600 });
    await refusedWith(openIdentityService(c, AT), 'ERR_IDENTITY_CONFIG');
    unlinkSync(join(dir, 'broken', 'ca', 'ca.pem'));
    await refusedWith(prepareIdentityFiles(c, AT), 'ERR_IDENTITY_CONFIG');
  });
});
