/**
 * PostgreSQL benchmark: `select 1` round trips per second on one warm connection, the same node
 * `pg` client directly on the server's UNIX socket versus through the real gateway process
 * (simulated RA-TLS client certificate, real attestation at connect, TLS 1.3, identity-to-role
 * mapping), interleaved round by round; medians with the range of round values and the ratio.
 * The direct path has no TLS at all: the ratio is the whole cost of putting the gateway in front.
 * Needs PostgreSQL (Debian's postgresql: /usr/lib/postgresql/N/bin) and psql; skipped otherwise.
 * Standalone: node --conditions=development --import tsx bench/postgres.ts [--quick]
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { initSimulation } from '@ratls/sim';
import { simCert, spawnGateway, tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import { HAVE_POSTGRES, startPostgres } from '@ratls/test-support/postgres';
import pg from 'pg';
import { type BenchOptions, fmtRatio, optionsFromArgv, Rounds } from './stats.js';

/** Sequential round trips on `client` for `ms` milliseconds; returns the rate per second. */
async function roundTrips(client: pg.Client, ms: number): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < ms) {
    await client.query('select 1');
    n++;
  }
  return n / ((performance.now() - t0) / 1000);
}

export async function run(opts: BenchOptions = optionsFromArgv(process.argv)): Promise<void> {
  if (!HAVE_POSTGRES) {
    console.log('PostgreSQL not installed (postgresql, psql): postgres bench skipped');
    return;
  }
  const rounds = opts.quick ? 3 : 7;
  const windowMs = opts.quick ? 500 : 2_000;
  const dir = tempDir('ratls-pg-bench-');
  const db = startPostgres(['bench']);
  let gw: Awaited<ReturnType<typeof spawnGateway>> | undefined;
  const clients: pg.Client[] = [];
  try {
    await initSimulation(join(dir, 'sim'));
    const mr = 'ab'.repeat(32);
    const client = await simCert(join(dir, 'sim'), join(dir, 'client'), { mrEnclave: mr });
    await simCert(join(dir, 'sim'), join(dir, 'server'), { mrEnclave: mr, subject: 'gateway' });
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: bench\n    sgx: { mrEnclave: "${mr}" }\n`,
    );
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
trust: { anchors: [./sim/root.pem], collateral: ./sim/collateral.json }
policy: ./policy.yaml
audit: { file: ./audit.jsonl }
listeners:
  - name: db
    listen: "127.0.0.1:0"
    tls: { cert: ./server.crt, key: ./server.key }
    forward: { postgres: "${db.socketPath}", roles: { bench: bench } }
`,
    );
    gw = await spawnGateway(join(dir, 'gateway.yaml'));
    const direct = new pg.Client({ host: db.socketDir, port: db.port, user: 'bench', database: 'postgres' });
    const viaGateway = new pg.Client({
      host: '127.0.0.1',
      port: gw.addresses.db as number,
      user: 'bench',
      database: 'postgres',
      ssl: {
        cert: readFileSync(client.cert, 'utf8'),
        key: readFileSync(client.key, 'utf8'),
        rejectUnauthorized: false,
      },
    });
    for (const c of [direct, viaGateway]) {
      clients.push(c);
      await c.connect();
      await roundTrips(c, 200); // warm-up
    }
    const r = new Rounds<'direct' | 'gateway'>();
    for (let i = 0; i < rounds; i++) {
      r.add('direct', await roundTrips(direct, windowMs));
      r.add('gateway', await roundTrips(viaGateway, windowMs));
    }
    console.log(
      `postgres select 1 round trips/s (node pg, one connection): direct UNIX socket ${r.median('direct').toFixed(0)} ${r.spread('direct', 0)}, through the gateway ${r.median('gateway').toFixed(0)} ${r.spread('gateway', 0)}, gateway/direct ${fmtRatio(r.ratio('gateway', 'direct'))}`,
    );
  } finally {
    for (const c of clients) await c.end().catch(() => undefined);
    await gw?.stop();
    db.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
