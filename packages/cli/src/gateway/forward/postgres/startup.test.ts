import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { PG_ERRORS } from './errors.js';
import { CANCEL_REQUEST_CODE } from './protocol.js';
import { encodeStartup, parseStartupPacket, rewriteStartup, type StartupParams } from './startup.js';

const V3 = 196608;
const roles = { payments: 'app' };
const codeOf = (p: ReturnType<typeof parseStartupPacket>) => (p.kind === 'refuse' ? p.refusal.code : p.kind);
const refusal = (params: StartupParams, identity = 'payments') => {
  const r = rewriteStartup(params, identity, roles);
  return r.ok ? 'ok' : r.refusal.code;
};

describe('parseStartupPacket', () => {
  it('reads a protocol 3 StartupMessage and where it ends', () => {
    const b = encodeStartup(V3, [
      ['user', 'app'],
      ['database', 'db'],
    ]);
    assert.deepEqual(parseStartupPacket(b), {
      kind: 'startup',
      version: V3,
      params: [
        ['user', 'app'],
        ['database', 'db'],
      ],
      length: b.length,
    });
    assert.deepEqual(parseStartupPacket(b.subarray(0, b.length - 1)), { kind: 'more' });
  });

  it('refuses lengths below 8 or above 10000 (ERR_PG_STARTUP_MALFORMED)', () => {
    for (const n of [0, 7, 10_001, 0x7fffffff]) {
      const b = Buffer.alloc(12);
      b.writeUInt32BE(n >>> 0, 0);
      assert.equal(codeOf(parseStartupPacket(new Uint8Array(b))), PG_ERRORS.STARTUP_MALFORMED, String(n));
    }
  });

  it('refuses other protocol versions and requests inside TLS', () => {
    for (const v of [0x00020000, 80877103, 80877104]) {
      const b = encodeStartup(v, [['user', 'app']]);
      assert.equal(codeOf(parseStartupPacket(b)), PG_ERRORS.STARTUP_MALFORMED, String(v));
    }
  });

  it('refuses a packet not ending in a zero byte, an empty name, a name without value, a duplicate, bad UTF-8', () => {
    const good = encodeStartup(V3, [['user', 'app']]);
    const noTerminator = good.slice();
    noTerminator[noTerminator.length - 1] = 0x41;
    const emptyName = Uint8Array.from([0, 0, 0, 11, 0, 3, 0, 0, 0, 0x61, 0]);
    const noValue = Uint8Array.from([0, 0, 0, 14, 0, 3, 0, 0, 0x75, 0x73, 0x65, 0x72, 0, 0]);
    const dup = encodeStartup(V3, [
      ['user', 'app'],
      ['USER', 'admin'],
    ]);
    const badUtf8 = encodeStartup(V3, [['user', 'app']]);
    badUtf8[13] = 0xff;
    for (const [what, b] of Object.entries({ noTerminator, emptyName, noValue, dup, badUtf8 }))
      assert.equal(codeOf(parseStartupPacket(b)), PG_ERRORS.STARTUP_MALFORMED, what);
  });

  it('reads a CancelRequest sent over TLS', () => {
    const b = Buffer.alloc(16);
    b.writeInt32BE(16, 0);
    b.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    b.writeInt32BE(99, 8);
    b.writeUInt32BE(5, 12);
    const p = parseStartupPacket(new Uint8Array(b));
    assert.equal(p.kind, 'cancel');
    assert.equal(p.kind === 'cancel' && p.key.pid, 99);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        assert.ok(['more', 'startup', 'cancel', 'refuse'].includes(parseStartupPacket(b).kind));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('rewriteStartup', () => {
  it('keeps the mapped role and allowed settings and names the identity in application_name', () => {
    const r = rewriteStartup(
      [
        ['user', 'app'],
        ['database', 'db'],
        ['application_name', 'psql'],
        ['fallback_application_name', 'psql'],
        ['client_encoding', 'UTF8'],
        ['options', ''],
      ],
      'payments',
      roles,
    );
    assert.deepEqual(r, {
      ok: true,
      params: [
        ['user', 'app'],
        ['database', 'db'],
        ['client_encoding', 'UTF8'],
        ['application_name', 'payments'],
      ],
    });
  });

  it('refuses another role (ERR_PG_ROLE_MISMATCH) and an unmapped identity (ERR_PG_ROLE_NOT_MAPPED)', () => {
    assert.equal(refusal([['user', 'postgres']]), PG_ERRORS.ROLE_MISMATCH);
    assert.equal(refusal([['user', 'app']], 'other'), PG_ERRORS.ROLE_NOT_MAPPED);
    // An identity named like an Object.prototype member maps to nothing.
    assert.equal(refusal([['user', 'app']], '__proto__'), PG_ERRORS.ROLE_NOT_MAPPED);
  });

  it('refuses options that could change the role (ERR_PG_OPTIONS_REFUSED)', () => {
    for (const o of ['-c role=postgres', '-c session_authorization=postgres', '--role=postgres', '-csearch_path=x'])
      assert.equal(
        refusal([
          ['user', 'app'],
          ['options', o],
        ]),
        PG_ERRORS.OPTIONS_REFUSED,
        o,
      );
  });

  it('refuses replication in any spelling (ERR_PG_REPLICATION_REFUSED)', () => {
    for (const v of ['true', 'database', 'false'])
      assert.equal(
        refusal([
          ['user', 'app'],
          ['Replication', v],
        ]),
        PG_ERRORS.REPLICATION_REFUSED,
        v,
      );
  });

  it('refuses role, session_authorization and unknown parameters (ERR_PG_PARAMETER_REFUSED)', () => {
    for (const n of ['role', 'Session_Authorization', '_pq_.x', 'log_connections', 'post_auth_delay'])
      assert.equal(
        refusal([
          ['user', 'app'],
          [n, 'postgres'],
        ]),
        PG_ERRORS.PARAMETER_REFUSED,
        n,
      );
  });

  it('refuses a startup without user (ERR_PG_STARTUP_MALFORMED)', () => {
    assert.equal(refusal([['database', 'db']]), PG_ERRORS.STARTUP_MALFORMED);
  });

  it('writes only printable ASCII into application_name, at most 63 bytes', () => {
    const r = rewriteStartup([['user', 'app']], `é${'x'.repeat(80)}`, { [`é${'x'.repeat(80)}`]: 'app' });
    assert.ok(r.ok);
    const name = r.ok ? (r.params.at(-1) as [string, string])[1] : '';
    assert.equal(name.length, 63);
    assert.ok(name.startsWith('?x'));
  });
});
