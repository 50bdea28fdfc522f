import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgisServer {
  client: pg.Client;
  stop(): Promise<void>;
}

function findBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) {
    const bin = join(root, v, 'bin');
    const hasPostgis = existsSync(`/usr/share/postgresql/${v}/extension/postgis.control`);
    if (existsSync(join(bin, 'initdb')) && hasPostgis) return bin;
  }
  return undefined;
}

/** Why PostGIS can't run here, or undefined when it can. */
export function postgisUnavailable(): string | undefined {
  return findBin()
    ? undefined
    : 'PostgreSQL with PostGIS is not installed (Debian postgresql-15-postgis-3; see .ci/run)';
}

/**
 * Starts a throw-away PostgreSQL cluster with PostGIS on a Unix socket in a temp folder (as the
 * `postgres` user when running as root, since PostgreSQL refuses to run as root).
 */
export async function startPostgis(): Promise<PostgisServer> {
  const bin = findBin();
  if (!bin) throw new Error(postgisUnavailable());
  const dir = mkdtempSync(join(tmpdir(), 'geotrigger-pg-'));
  chmodSync(dir, 0o777);
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ['-u', 'postgres', '--', join(bin, cmd), ...args] : args;
    const r = spawnSync(asRoot ? 'runuser' : join(bin, cmd), full, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.stdout}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = String(20000 + Math.floor(Math.random() * 20000));
  run('pg_ctl', [
    '-D',
    data,
    '-w',
    '-l',
    join(dir, 'log'),
    '-o',
    `-k ${dir} -p ${port} -c listen_addresses='' -c fsync=off -c full_page_writes=off`,
    'start',
  ]);
  const client = new pg.Client({ host: dir, port: Number(port), user: 'postgres', database: 'postgres' });
  await client.connect();
  await client.query('CREATE EXTENSION IF NOT EXISTS postgis');
  return {
    client,
    async stop() {
      await client.end().catch(() => {});
      try {
        const args = ['-D', data, '-m', 'immediate', 'stop'];
        if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args]);
        else execFileSync(join(bin, 'pg_ctl'), args);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
