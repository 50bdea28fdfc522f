import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isAppError } from '../../../src/errors.ts';
import { backoffMs } from '../../../src/store/backoff.ts';
import { loadMigrations, renderMigration, splitStatements } from '../../../src/store/migrate.ts';

test('migrations load from every NNN-name.sql file in the folder, in number order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'migr-'));
  try {
    await writeFile(join(dir, '210-presence.sql'), 'SELECT 2;');
    await writeFile(join(dir, '002-b.sql'), 'SELECT 1;');
    await writeFile(join(dir, '100-subscribers.sql'), 'SELECT 3;');
    await writeFile(join(dir, 'README.md'), 'not a migration');
    const ms = await loadMigrations(dir);
    assert.deepEqual(
      ms.map((m) => m.id),
      [2, 100, 210],
    );
    assert.equal(ms[1].name, '100-subscribers.sql');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('two migration files with one number stop start-up', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'migr-'));
  try {
    await writeFile(join(dir, '300-a.sql'), 'SELECT 1;');
    await writeFile(join(dir, '300-b.sql'), 'SELECT 1;');
    await assert.rejects(loadMigrations(dir), (err: unknown) => isAppError(err, 'MIGRATION_FAILED'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the project migrations folder holds only well-named files', async () => {
  const ms = await loadMigrations();
  assert.ok(ms.length >= 4);
  assert.deepEqual(
    ms.slice(0, 4).map((m) => m.id),
    [1, 2, 3, 4],
  );
});

test('placeholders are substituted and an unknown one is an error', () => {
  const vars = { db: 'g', ttlDays: 30, minGroupSize: 10 };
  assert.equal(
    renderMigration('TTL ts + INTERVAL {{ttlDays}} DAY -- {{ db }}', vars),
    'TTL ts + INTERVAL 30 DAY -- g',
  );
  assert.throws(
    () => renderMigration('{{nope}}', vars),
    (err: unknown) => isAppError(err, 'MIGRATION_FAILED'),
  );
});

test('statements split at semicolons ending a line, comments dropped', () => {
  const sql = `-- header; with a semicolon\nCREATE TABLE a (x String DEFAULT 'a;b');\n\nCREATE TABLE b AS a;\n-- trailing\n`;
  assert.deepEqual(splitStatements(sql), ["CREATE TABLE a (x String DEFAULT 'a;b')", 'CREATE TABLE b AS a']);
});

test('backoff grows exponentially with jitter and stays under the cap', () => {
  assert.equal(
    backoffMs(1, 100, 5000, () => 0),
    50,
  );
  assert.equal(
    backoffMs(1, 100, 5000, () => 1),
    100,
  );
  assert.equal(
    backoffMs(4, 100, 5000, () => 0),
    400,
  );
  assert.equal(
    backoffMs(30, 100, 5000, () => 1),
    5000,
  );
  for (let a = 1; a < 20; a++) {
    const v = backoffMs(a, 100, 5000);
    assert.ok(v >= Math.min(5000, 100 * 2 ** (a - 1)) / 2 && v <= 5000, `attempt ${a}: ${v}`);
  }
});
