/**
 * A throw-away PostgreSQL cluster for gateway tests: initdb in a temp folder (as the `postgres`
 * OS user when the tests run as root, since the server refuses to run as root), no TCP listener
 * (`listen_addresses = ''`), its UNIX socket in that folder, and `peer` authentication with a
 * map: the test's OS user may log in only as the given roles, never as the superuser. The
 * superuser is reached as the server's own OS user (`admin` map), for setup only.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** Where Debian puts the server binaries (postgresql-15 on Debian 12). */
function serverBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** True when a PostgreSQL server (initdb, pg_ctl) and psql are installed. */
export const HAVE_POSTGRES = serverBin() !== undefined && spawnSync('sh', ['-c', 'command -v psql']).status === 0;

export interface TempPostgres {
  /** The folder holding the server's socket (`host=` for libpq). */
  socketDir: string;
  /** The socket file itself (`forward.postgres`). */
  socketPath: string;
  /** The port in the socket's name (libpq's `port=` with `host=socketDir`). */
  port: number;
  /** Runs SQL as the superuser; returns psql's unaligned output. Throws on failure. */
  sql(query: string): string;
  stop(): void;
}

const PORT = 5432;

/** A TCP listener on 127.0.0.1 with TLS, for tests of client-certificate logins (`hostssl`). */
export interface PostgresTls {
  /** A free port on 127.0.0.1 (also names the UNIX socket). */
  port: number;
  serverCertPem: string;
  serverKeyPem: string;
  /** `ssl_ca_file`: the CAs whose client certificates the server accepts. */
  caPem: string;
  /** Extra pg_hba.conf lines (e.g. `hostssl all all 127.0.0.1/32 cert clientcert=verify-full map=ratls`). */
  hba: string[];
  /** Extra pg_ident.conf lines (e.g. `ratls payments app_payments`). */
  ident: string[];
}

/**
 * Creates and starts a cluster whose socket admits the test's OS user as `roles` (created, LOGIN).
 * @example const pg = startPostgres(['app', 'other']); pg.sql('select 1'); pg.stop();
 */
export function startPostgres(roles: readonly string[], tls?: PostgresTls): TempPostgres {
  const bin = serverBin();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
  const me = userInfo().username;
  const asRoot = process.getuid?.() === 0;
  const serverUser = asRoot ? 'postgres' : me;
  const dir = mkdtempSync(join(tmpdir(), 'ratls-pg-'));
  chmodSync(dir, 0o755);
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  mkdirSync(sock);
  if (asRoot) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gids = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    const uid = Number(ids.stdout.trim());
    const gid = Number(gids.stdout.trim());
    chownSync(dir, uid, gid);
    chownSync(sock, uid, gid);
  }
  const runAs = (cmd: string, args: string[], input?: string) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    const r = spawnSync(full[0] as string, full[1] as string[], {
      encoding: 'utf8',
      cwd: dir,
      timeout: 60_000,
      ...(input !== undefined ? { input } : {}),
    });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  runAs(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'reject', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const port = tls?.port ?? PORT;
  writeFileSync(
    join(data, 'postgresql.conf'),
    `listen_addresses = '${tls ? '127.0.0.1' : ''}'\nunix_socket_directories = '${sock}'\nport = ${port}\nfsync = off\nmax_connections = 40\n`,
    { flag: 'a' },
  );
  if (tls) {
    writeFileSync(join(data, 'server.crt'), tls.serverCertPem);
    writeFileSync(join(data, 'server.key'), tls.serverKeyPem, { mode: 0o600 });
    writeFileSync(join(data, 'client-ca.crt'), tls.caPem);
    writeFileSync(
      join(data, 'postgresql.conf'),
      "ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\nssl_ca_file = 'client-ca.crt'\n",
      { flag: 'a' },
    );
    if (asRoot) {
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      for (const f of ['server.crt', 'server.key', 'client-ca.crt']) chownSync(join(data, f), uid, gid);
    }
  }
  // peer with a map, never trust: the OS user on the socket decides which roles it may become.
  writeFileSync(
    join(data, 'pg_hba.conf'),
    ['local all postgres peer map=admin', 'local all all peer map=ratls', ...(tls?.hba ?? [])].join('\n') + '\n',
  );
  writeFileSync(
    join(data, 'pg_ident.conf'),
    [`admin ${serverUser} postgres`, ...roles.map((r) => `ratls ${me} ${r}`), ...(tls?.ident ?? [])].join('\n') + '\n',
  );
  runAs(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
  const sql = (query: string) =>
    runAs('psql', [
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-h',
      sock,
      '-p',
      String(port),
      '-U',
      'postgres',
      '-d',
      'postgres',
      '-At',
      '-c',
      query,
    ]);
  try {
    for (const r of roles) sql(`CREATE ROLE "${r}" LOGIN`);
  } catch (e) {
    runAs(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop']);
    throw e;
  }
  let stopped = false;
  return {
    socketDir: sock,
    socketPath: join(sock, `.s.PGSQL.${port}`),
    port,
    sql,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        runAs(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * `select current_user` through psql over TLS on 127.0.0.1 with a client certificate
 * (`sslcert` may hold the chain) and its key: the login of an unmodified libpq client.
 * @example const r = psqlWithCert(pg.port, { cert: 'id.chain.pem', key: 'id.key' }, 'app_payments'); r.stdout.trim()
 */
export function psqlWithCert(
  port: number,
  files: { cert: string; key: string },
  user: string,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    'psql',
    [
      '-X',
      '-At',
      '-c',
      'select current_user',
      `host=127.0.0.1 port=${port} dbname=postgres user=${user} sslmode=require sslcert=${files.cert} sslkey=${files.key} connect_timeout=10`,
    ],
    // No root certificate file: sslmode=require does not check the server, so none is read.
    {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, PGSSLROOTCERT: join(tmpdir(), 'ratls-none'), PGPASSWORD: '' },
    },
  );
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}
