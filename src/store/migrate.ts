import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';

/** Where numbered migrations live; every `NNN-name.sql` file in it is applied in number order. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const FILE_RE = /^(\d{3})-[a-z0-9][a-z0-9-]*\.sql$/;

export interface Migration {
  id: number;
  name: string;
  /** The file's text with placeholders still in it (the checksum is over this). */
  source: string;
}

/** Values substituted for `{{name}}` in migration SQL. */
export interface MigrationVars {
  db: string;
  ttlDays: number;
  minGroupSize: number;
}

interface Runner {
  command(sql: string): Promise<void>;
  query<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
}

/** Reads every migration file of `dir`, sorted by number; two files with one number are an error. */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  const out: Migration[] = [];
  const seen = new Map<number, string>();
  for (const name of names) {
    const m = FILE_RE.exec(name);
    if (!m) {
      throw new AppError('MIGRATION_FAILED', `migration file ${name} is not named NNN-lower-case-name.sql`);
    }
    const id = Number(m[1]);
    const other = seen.get(id);
    if (other) throw new AppError('MIGRATION_FAILED', `migrations ${other} and ${name} share number ${id}`);
    seen.set(id, name);
    out.push({ id, name, source: await readFile(`${dir}/${name}`, 'utf8') });
  }
  return out.sort((a, b) => a.id - b.id);
}

/** Substitutes `{{var}}` placeholders; an unknown placeholder is an error rather than SQL that half-works. */
export function renderMigration(source: string, vars: MigrationVars): string {
  return source.replace(/\{\{\s*(\w+)\s*\}\}/g, (_all, key: string) => {
    if (!(key in vars)) throw new AppError('MIGRATION_FAILED', `unknown placeholder {{${key}}} in migration`);
    return String(vars[key as keyof MigrationVars]);
  });
}

/** Splits a migration into statements: `--` comment lines dropped, statements end with `;` at line end. */
export function splitStatements(sql: string): string[] {
  const text = sql
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('--'))
    .join('\n');
  return text
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function checksum(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

/**
 * Applies every migration not yet recorded in `schema_migrations`, in order. Statements are written
 * idempotently (IF NOT EXISTS), so a run interrupted half-way is safe to repeat.
 */
export async function applyMigrations(opts: {
  runner: Runner;
  vars: MigrationVars;
  logger: Logger;
  migrations?: readonly Migration[];
}): Promise<{ applied: number[]; skipped: number[] }> {
  const { runner, vars, logger } = opts;
  const migrations = opts.migrations ?? (await loadMigrations());
  const db = vars.db;
  await runner.command(
    `CREATE TABLE IF NOT EXISTS ${db}.schema_migrations (id UInt32, name String, checksum String, applied_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY id`,
  );
  const done = await runner.query<{ id: number; name: string; checksum: string }>(
    `SELECT id, name, checksum FROM ${db}.schema_migrations FINAL`,
  );
  const doneById = new Map(done.map((r) => [Number(r.id), r]));
  const applied: number[] = [];
  const skipped: number[] = [];
  for (const m of migrations) {
    const prior = doneById.get(m.id);
    const sum = checksum(m.source);
    if (prior) {
      // An edited migration is not re-run: schema changes go in a new file.
      if (prior.checksum !== sum) {
        logger.warn({ migration: m.name }, 'migration file changed after it was applied; not re-running it');
      }
      skipped.push(m.id);
      continue;
    }
    const statements = splitStatements(renderMigration(m.source, vars));
    for (const [i, statement] of statements.entries()) {
      try {
        await runner.command(statement);
      } catch (err) {
        throw new AppError(
          'MIGRATION_FAILED',
          `migration ${m.name} statement ${i + 1} failed: ${(err as Error).message}`,
          { cause: err },
        );
      }
    }
    await runner.command(
      `INSERT INTO ${db}.schema_migrations (id, name, checksum, applied_at) VALUES (${m.id}, '${m.name}', '${sum}', now64(3))`,
    );
    logger.info({ migration: m.name, statements: statements.length }, 'migration applied');
    applied.push(m.id);
  }
  return { applied, skipped };
}
