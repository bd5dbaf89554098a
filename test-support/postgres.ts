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

/**
 * Creates and starts a cluster whose socket admits the test's OS user as `roles` (created, LOGIN).
 * @example const pg = startPostgres(['app', 'other']); pg.sql('select 1'); pg.stop();
 */
export function startPostgres(roles: readonly string[]): TempPostgres {
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
  writeFileSync(
    join(data, 'postgresql.conf'),
    `listen_addresses = ''\nunix_socket_directories = '${sock}'\nport = ${PORT}\nfsync = off\nmax_connections = 40\n`,
    { flag: 'a' },
  );
  // peer with a map, never trust: the OS user on the socket decides which roles it may become.
  writeFileSync(join(data, 'pg_hba.conf'), 'local all postgres peer map=admin\nlocal all all peer map=ratls\n');
  writeFileSync(
    join(data, 'pg_ident.conf'),
    [`admin ${serverUser} postgres`, ...roles.map((r) => `ratls ${me} ${r}`)].join('\n') + '\n',
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
      String(PORT),
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
    socketPath: join(sock, `.s.PGSQL.${PORT}`),
    port: PORT,
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
