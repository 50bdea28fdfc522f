import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { z } from 'zod';
import { configSchema } from '../../src/config.ts';
import {
  END_MARKER,
  readmeConfigTable,
  renderConfigTable,
  START_MARKER,
  withConfigTable,
} from '../../tools/config-docs.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** Cells of a Markdown table row, split on pipes that are not escaped. */
const cells = (row: string) =>
  row
    .slice(1, -1)
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());

test("README's configuration table is the one generated from the config schema", () => {
  const inReadme = readmeConfigTable(README);
  assert.ok(inReadme, `README.md has no ${START_MARKER} … ${END_MARKER} block: run \`npm run docs:config\``);
  assert.equal(
    inReadme,
    renderConfigTable(),
    "README.md's configuration table differs from src/config.ts: run `npm run docs:config`",
  );
});

test('the configuration section sits right after the Privacy section', () => {
  const headings = [...README.matchAll(/^## (.+)$/gm)].map((m) => m[1].trim());
  const i = headings.indexOf('Privacy');
  assert.ok(i >= 0, 'a Privacy section');
  assert.equal(headings[i + 1], 'Configuration');
  const section = README.slice(README.indexOf('## Configuration'));
  assert.ok(section.indexOf(START_MARKER) < section.search(/^## (?!Configuration)/m));
});

test('the table has one row per config key, three cells each, with the default and the allowed values', () => {
  const rows = renderConfigTable().split('\n').slice(2);
  const keys = Object.keys(configSchema.shape);
  assert.equal(rows.length, keys.length);
  const byKey = new Map(rows.map((r) => [cells(r)[0], cells(r)]));
  for (const k of keys) assert.equal(byKey.get(`\`${k}\``)?.length, 3, `row of ${k}`);
  assert.deepEqual(byKey.get('`PORT`'), [
    '`PORT`',
    '`8080`',
    'Port of the HTTP API (0 = any free port). Integer, 0–65535.',
  ]);
  assert.equal(byKey.get('`KAFKA_BROKERS`')?.[1], '*(unset)*');
  assert.equal(byKey.get('`CLICKHOUSE_PASSWORD`')?.[1], '*(empty)*');
  assert.equal(byKey.get('`DEMO`')?.[1], '`true`');
  assert.match(byKey.get('`LOG_LEVEL`')![2], /One of `fatal`, .*`silent`\./);
  // A pipe inside a description is escaped, so the row keeps three cells.
  assert.match(byKey.get('`SMPP_ACCOUNTS`')![2], /transceiver \\\| transmitter\+receiver/);
});

test('a key without a description cannot be rendered', () => {
  const schema = z.object({ A: z.string().default('x').describe('Described.'), B: z.string() });
  assert.throws(() => renderConfigTable(schema), /config key B has no \.describe\(\)/);
});

test('writing the table replaces the block in place, or adds the section after Privacy', () => {
  const table = renderConfigTable();
  const bare = '# x\n\n## Privacy\n\n- a\n\n## Store\n\ntext\n';
  const added = withConfigTable(bare, table);
  assert.match(
    added,
    /## Privacy\n\n- a\n\n## Configuration\n[\s\S]*<!-- config:end -->\n\n## Store\n\ntext\n$/,
  );
  assert.equal(readmeConfigTable(added), table);
  // Idempotent, and a stale table is replaced without touching the rest.
  assert.equal(withConfigTable(added, table), added);
  const stale = added.replace('`PORT`', '`PORTX`');
  assert.equal(withConfigTable(stale, table), added);
  assert.throws(() => withConfigTable('# x\n', table), /no "## Privacy" section/);
  assert.throws(() => withConfigTable(`${START_MARKER}\n`, table), /only one of/);
});
