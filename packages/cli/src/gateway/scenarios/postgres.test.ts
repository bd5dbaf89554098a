/**
 * PostgreSQL through the gateway: a real PostgreSQL 15 cluster on a UNIX socket (peer
 * authentication with a map), the gateway in-process with real verification of simulated RA-TLS
 * certificates, and real clients (psql 15, node `pg`, raw sockets for what no client sends).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import { run, simCert, simulatedPccs, tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import type { PcsServer } from '@ratls/test-support/pcs-server';
import { HAVE_POSTGRES, startPostgres, type TempPostgres } from '@ratls/test-support/postgres';
import type { AuditEvent } from '@ratls/verifier';
import pg from 'pg';
import {
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  negotiationRequest,
  SSL_REQUEST_CODE,
} from '../forward/postgres/protocol.js';
import { encodeStartup } from '../forward/postgres/startup.js';
import { type Gateway, startGateway } from '../index.js';

const GOOD = '5a'.repeat(32);
const IMPOSTOR = '5b'.repeat(32);

const skip = HAVE_POSTGRES ? false : process.env.CI ? false : 'PostgreSQL 15 (postgresql, psql) not installed';

describe('gateway scenario: PostgreSQL with identity-to-role mapping', { skip }, () => {
  let dir: string;
  let db: TempPostgres;
  let pcs: PcsServer;
  let gw: Gateway;
  const events: AuditEvent[] = [];
  let client: { cert: string; key: string };
  let impostor: { cert: string; key: string };
  let debug: { cert: string; key: string };
  let port: number;

  before(async () => {
    dir = tempDir('ratls-gw-pg-');
    db = startPostgres(['app', 'other']);
    let sim: string;
    ({ client, pcs, sim } = await simulatedPccs(dir, GOOD));
    impostor = await simCert(sim, join(dir, 'impostor'), { mrEnclave: IMPOSTOR });
    debug = await simCert(sim, join(dir, 'debug'), { mrEnclave: GOOD, debug: true });
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: payments\n    sgx: { mrEnclave: "${GOOD}" }\n`,
    );
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust: { anchors: [./sim/root.pem], pccs: "${pcs.url}", cacheDir: ./pccs-cache }
policy: ./policy.yaml
listeners:
  - name: db
    listen: "127.0.0.1:0"
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { postgres: "${db.socketPath}", roles: { payments: app } }
  - name: dead
    listen: "127.0.0.1:0"
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { postgres: "${join(dir, 'no-server', '.s.PGSQL.5432')}", roles: { payments: app }, startupTimeoutMs: 500 }
`,
    );
    gw = await startGateway(join(dir, 'gateway.yaml'), {
      auditSink: { callback: (e) => events.push(e) },
      watch: false,
      log: () => undefined,
    });
    port = gw.addresses().db?.port as number;
  });

  after(async () => {
    await gw?.close();
    await pcs?.close();
    db?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const conninfo = (o: { cert?: { cert: string; key: string }; extra?: string } = {}) =>
    `host=127.0.0.1 port=${port} sslmode=require connect_timeout=10 dbname=postgres ${
      o.cert
        ? `sslcert=${o.cert.cert} sslkey=${o.cert.key}`
        : `sslcert=${join(dir, 'none.crt')} sslkey=${join(dir, 'none.key')}`
    } ${o.extra ?? 'user=app'}`;
  const psql = (info: string, query: string) => run('psql', ['-X', '-At', info, '-c', query], { timeoutMs: 20_000 });
  const codes = (code: string) => events.filter((e) => e.error?.code === code).length;
  const waitFor = async (pred: () => boolean, ms = 5_000) => {
    for (let t = 0; t < ms && !pred(); t += 25) await new Promise((r) => setTimeout(r, 25));
    return pred();
  };

  it('psql 15 with an attested certificate reaches the backend as the mapped role, named by its identity', async () => {
    const r = await psql(
      conninfo({ cert: client }),
      "select current_user || ' ' || current_setting('application_name')",
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'app payments');
  });

  it('asking for another role is refused with an error psql prints, and audited', async () => {
    const before = codes('ERR_PG_ROLE_MISMATCH');
    const r = await psql(conninfo({ cert: client, extra: 'user=other' }), 'select current_user');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /FATAL: +ratls gateway: role "other" is not the role mapped to identity "payments"/);
    assert.ok(await waitFor(() => codes('ERR_PG_ROLE_MISMATCH') === before + 1));
  });

  it('options=-c role=… is refused', async () => {
    const before = codes('ERR_PG_OPTIONS_REFUSED');
    const r = await psql(conninfo({ cert: client, extra: "user=app options='-c role=other'" }), 'select current_user');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /FATAL: +ratls gateway: startup "options" are refused/);
    assert.ok(await waitFor(() => codes('ERR_PG_OPTIONS_REFUSED') === before + 1));
  });

  it('replication=true is refused', async () => {
    const before = codes('ERR_PG_REPLICATION_REFUSED');
    const r = await psql(conninfo({ cert: client, extra: 'user=app replication=true' }), 'IDENTIFY_SYSTEM');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /FATAL: +ratls gateway: replication connections are not forwarded/);
    assert.ok(await waitFor(() => codes('ERR_PG_REPLICATION_REFUSED') === before + 1));
  });

  it('impostor, debug and certificate-less clients are refused at the handshake', async () => {
    const denied = () =>
      events.filter((e) => e.event.action === 'ratls-handshake' && e.event.outcome === 'failure').length;
    const n = denied();
    for (const cert of [impostor, debug, undefined]) {
      const r = await psql(conninfo(cert ? { cert } : {}), 'select current_user');
      assert.notEqual(r.code, 0, `refused: ${cert?.cert ?? 'no certificate'}`);
      assert.doesNotMatch(r.stdout, /app/);
    }
    assert.ok(await waitFor(() => denied() === n + 3), `three denied handshakes (saw ${denied() - n})`);
    assert.ok(codes('ERR_TLS_NO_PEER_CERTIFICATE') >= 1);
  });

  /** Raw socket: writes `bytes`, collects what comes back until the gateway closes. */
  const raw = (bytes: Uint8Array[], gapMs = 0) =>
    new Promise<Buffer>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      const got: Buffer[] = [];
      s.on('data', (c) => got.push(c));
      s.on('error', () => undefined);
      s.on('close', () => resolve(Buffer.concat(got)));
      s.setTimeout(8_000, () => s.destroy());
      void (async () => {
        for (const b of bytes) {
          s.write(b);
          if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
        }
      })();
    });

  it('bytes pipelined after an SSLRequest are refused before TLS, with no S answer', async () => {
    const before = codes('ERR_PG_PIPELINED');
    const hello = Buffer.from('160301000401000000', 'hex');
    const got = await raw([Buffer.concat([negotiationRequest(SSL_REQUEST_CODE), hello])]);
    assert.equal(got.length, 0, 'nothing answered');
    assert.ok(await waitFor(() => codes('ERR_PG_PIPELINED') === before + 1));
  });

  it('GSSENCRequest is answered N and the same socket may go on with SSLRequest (S)', async () => {
    const got = await raw([negotiationRequest(GSSENC_REQUEST_CODE), negotiationRequest(SSL_REQUEST_CODE)], 150);
    assert.equal(got.toString('latin1').slice(0, 2), 'NS');
  });

  it('a plaintext StartupMessage is refused (TLS required)', async () => {
    const before = codes('ERR_PG_TLS_REQUIRED');
    const got = await raw([encodeStartup(196608, [['user', 'app']])]);
    assert.equal(got.length, 0);
    assert.ok(await waitFor(() => codes('ERR_PG_TLS_REQUIRED') === before + 1));
  });

  const direct = (alpn: string[] | undefined) =>
    new Promise<{ ok: boolean; alpn: string | false; first?: string }>((resolve) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port,
        cert: Buffer.from(require_(client.cert)),
        key: Buffer.from(require_(client.key)),
        rejectUnauthorized: false,
        ...(alpn ? { ALPNProtocols: alpn } : {}),
      });
      s.on('error', () => resolve({ ok: false, alpn: false }));
      s.on('secureConnect', () => {
        s.write(
          encodeStartup(196608, [
            ['user', 'app'],
            ['database', 'postgres'],
          ]),
        );
        s.once('data', (c: Buffer) => {
          resolve({ ok: true, alpn: s.alpnProtocol ?? false, first: String.fromCharCode(c[0] as number) });
          s.destroy();
        });
      });
      s.on('close', () => resolve({ ok: false, alpn: false }));
    });

  it('direct TLS (no SSLRequest) is accepted with ALPN postgresql and refused without it', async () => {
    const before = codes('ERR_PG_DIRECT_TLS_ALPN');
    const yes = await direct(['postgresql']);
    assert.deepEqual([yes.ok, yes.alpn, yes.first], [true, 'postgresql', 'R']);
    const none = await direct(undefined);
    assert.equal(none.ok, false);
    const other = await direct(['http/1.1']);
    assert.equal(other.ok, false);
    assert.ok(await waitFor(() => codes('ERR_PG_DIRECT_TLS_ALPN') === before + 2));
  });

  const afterSslRequest = (alpn: string[]) =>
    new Promise<{ ok: boolean; alpn: string | false }>((resolve) => {
      const sock = net.connect(port, '127.0.0.1', () => sock.write(negotiationRequest(SSL_REQUEST_CODE)));
      sock.on('error', () => resolve({ ok: false, alpn: false }));
      sock.once('data', (c: Buffer) => {
        assert.equal(c.toString('latin1'), 'S');
        const s = tls.connect({
          socket: sock,
          cert: require_(client.cert),
          key: require_(client.key),
          rejectUnauthorized: false,
          ALPNProtocols: alpn,
        });
        s.on('error', () => resolve({ ok: false, alpn: false }));
        s.on('secureConnect', () => {
          s.write(
            encodeStartup(196608, [
              ['user', 'app'],
              ['database', 'postgres'],
            ]),
          );
          s.once('data', () => {
            resolve({ ok: true, alpn: s.alpnProtocol ?? false });
            s.destroy();
          });
        });
        s.on('close', () => resolve({ ok: false, alpn: false }));
      });
    });

  it('after an SSLRequest, ALPN is optional but when offered must include postgresql (libpq 17 sends it)', async () => {
    assert.deepEqual(await afterSslRequest(['postgresql']), { ok: true, alpn: 'postgresql' });
    assert.deepEqual(await afterSslRequest(['http/1.1']), { ok: false, alpn: false });
  });

  it('an unreachable backend is an ErrorResponse psql prints (ERR_PG_BACKEND)', async () => {
    const before = codes('ERR_PG_BACKEND');
    const info = conninfo({ cert: client }).replace(`port=${port}`, `port=${gw.addresses().dead?.port}`);
    const r = await psql(info, 'select 1');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /FATAL: +ratls gateway: backend unavailable/);
    assert.ok(await waitFor(() => codes('ERR_PG_BACKEND') === before + 1));
  });

  it('an accepted client that sends no StartupMessage gets ERR_PG_STARTUP_TIMEOUT', async () => {
    const before = codes('ERR_PG_STARTUP_TIMEOUT');
    const got = await new Promise<Buffer>((resolve) => {
      const sock = net.connect(gw.addresses().dead?.port as number, '127.0.0.1', () =>
        sock.write(negotiationRequest(SSL_REQUEST_CODE)),
      );
      sock.on('error', () => resolve(Buffer.alloc(0)));
      sock.once('data', () => {
        const s = tls.connect({
          socket: sock,
          cert: require_(client.cert),
          key: require_(client.key),
          rejectUnauthorized: false,
        });
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('error', () => undefined);
        s.on('close', () => resolve(Buffer.concat(chunks)));
      });
    });
    assert.equal(String.fromCharCode(got[0] as number), 'E', 'an ErrorResponse');
    assert.match(got.toString('utf8'), /no startup packet within 500 ms/);
    assert.ok(await waitFor(() => codes('ERR_PG_STARTUP_TIMEOUT') === before + 1));
  });

  const pgClient = () =>
    new pg.Client({
      host: '127.0.0.1',
      port,
      user: 'app',
      database: 'postgres',
      ssl: { cert: require_(client.cert), key: require_(client.key), rejectUnauthorized: false },
    });

  it('node pg works through the gateway', async () => {
    const c = pgClient();
    await c.connect();
    try {
      const r = await c.query('select current_user as u, 1 + 1 as two');
      assert.deepEqual(r.rows, [{ u: 'app', two: 2 }]);
    } finally {
      await c.end();
    }
  });

  it("psql's Ctrl-C (plaintext CancelRequest) cancels select pg_sleep(30)", async () => {
    const before = codes('ERR_PG_CANCEL_RELAYED');
    const child = spawn('psql', ['-X', '-At', conninfo({ cert: client }), '-c', 'select pg_sleep(30)'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      const sleeping = () =>
        db
          .sql("select count(*) from pg_stat_activity where query = 'select pg_sleep(30)' and state = 'active'")
          .trim() === '1';
      assert.ok(await waitFor(sleeping, 10_000), 'the query runs');
      const t0 = Date.now();
      child.kill('SIGINT');
      const code = await Promise.race([exited, new Promise<'late'>((r) => setTimeout(() => r('late'), 10_000))]);
      assert.notEqual(code, 'late', 'psql ended after the cancel');
      assert.ok(Date.now() - t0 < 10_000);
      assert.match(stderr, /canceling statement due to user request/);
      assert.ok(await waitFor(() => codes('ERR_PG_CANCEL_RELAYED') === before + 1));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a forged cancel key does nothing', async () => {
    const before = codes('ERR_PG_CANCEL_UNKNOWN');
    const c = pgClient();
    await c.connect();
    try {
      const pid = Number((await c.query('select pg_backend_pid() as p')).rows[0].p);
      const q = c.query('select pg_sleep(1.5) as slept');
      const forged = Buffer.alloc(16);
      forged.writeInt32BE(16, 0);
      forged.writeInt32BE(CANCEL_REQUEST_CODE, 4);
      forged.writeInt32BE(pid, 8);
      forged.writeUInt32BE(0x12345678, 12);
      await new Promise((r) => setTimeout(r, 200));
      await raw([forged]);
      const r = await q;
      assert.equal(r.rows.length, 1, 'the query was not cancelled');
      assert.ok(await waitFor(() => codes('ERR_PG_CANCEL_UNKNOWN') === before + 1));
    } finally {
      await c.end();
    }
  });
});

function require_(p: string): string {
  return readFileSync(p, 'utf8');
}
