import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAppError } from '../../../src/errors.ts';
import { compileRowCodec } from '../../../src/store/row-codec.ts';
import type { ColumnInfo } from '../../../src/store/types.ts';

const col = (name: string, type: string, defaultKind = ''): ColumnInfo => ({ name, type, defaultKind });

const decisionColumns = [
  col('ts', "DateTime64(3, 'UTC')"),
  col('sid', 'String'),
  col('campaign_id', 'LowCardinality(String)'),
  col('dwell_ms', 'UInt32'),
  col('note', 'Nullable(String)'),
  col('tags', 'Array(String)'),
  col('kind', "Enum8('enter' = 1, 'exit' = 2)"),
  col('score', 'Float64'),
  col('created', "DateTime('UTC')", 'DEFAULT'),
  col('day', 'Date', 'MATERIALIZED'),
];

function buildRow(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ts: 1_700_000_000_123,
    sid: 's1',
    campaign_id: 'c1',
    dwell_ms: 0,
    note: null,
    tags: [],
    kind: 'enter',
    score: 0.5,
    ...overrides,
  };
}

function rejects(fn: () => unknown, column: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isAppError(err, 'STORE_ROW_INVALID'), String(err));
    assert.match(err.message, new RegExp(`^decisions\\.${column.replace(/[()]/g, '\\$&')}:`));
    assert.deepEqual((err.details as { column: string }).column, column);
    return true;
  });
}

test('a valid row becomes one CSV line in column order, skipping computed columns', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  assert.deepEqual(codec.columns, [
    'ts',
    'sid',
    'campaign_id',
    'dwell_ms',
    'note',
    'tags',
    'kind',
    'score',
    'created',
  ]);
  const line = codec.encode(buildRow({ tags: ["it's", 'b'], created: 1_700_000_000_999 }));
  assert.equal(line, '1700000000.123,"s1","c1",0,\\N,"[\'it\\\'s\',\'b\']","enter",0.5,1700000000\n');
});

test('strings are quoted with inner quotes doubled, so commas, quotes and newlines cannot split a row', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  const line = codec.encode(buildRow({ sid: 'a,"b"\nc ' }));
  assert.equal(line.split(',"c1"')[0], '1700000000.123,"a,""b""\nc "');
});

test('an omitted DEFAULT column is sent empty so ClickHouse applies the default; an omitted Nullable is NULL', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  const row = buildRow();
  delete row.note;
  const fields = codec.encode(row).slice(0, -1).split(',');
  assert.equal(fields[4], '\\N');
  assert.equal(fields.length, 9);
  assert.equal(codec.encode(buildRow()).endsWith(',\n'), true);
});

test('a row missing a required column is rejected naming the column', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  const row = buildRow();
  delete row.sid;
  rejects(() => codec.encode(row), 'sid');
});

test('values of the wrong type are rejected naming table and column', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  rejects(() => codec.encode(buildRow({ sid: 42 })), 'sid');
  rejects(() => codec.encode(buildRow({ dwell_ms: -1 })), 'dwell_ms');
  rejects(() => codec.encode(buildRow({ dwell_ms: 1.5 })), 'dwell_ms');
  rejects(() => codec.encode(buildRow({ dwell_ms: 2 ** 32 })), 'dwell_ms');
  rejects(() => codec.encode(buildRow({ ts: 'yesterday' })), 'ts');
  rejects(() => codec.encode(buildRow({ ts: Number.NaN })), 'ts');
  rejects(() => codec.encode(buildRow({ score: Number.POSITIVE_INFINITY })), 'score');
  rejects(() => codec.encode(buildRow({ tags: ['a', 1] })), 'tags');
  rejects(() => codec.encode(buildRow({ kind: 'dwell' })), 'kind');
  rejects(() => codec.encode(buildRow({ note: 5 })), 'note');
});

test('an unknown column or a computed column in the row is rejected', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  rejects(() => codec.encode(buildRow({ campaign: 'c1' })), 'campaign');
  rejects(() => codec.encode(buildRow({ day: '2024-01-01' })), 'day');
});

test('time columns accept ms since epoch, a Date or an ISO string and encode the same instant', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 7);
  const a = codec.encode(buildRow({ ts: ms }));
  assert.equal(codec.encode(buildRow({ ts: new Date(ms) })), a);
  assert.equal(codec.encode(buildRow({ ts: '2024-01-02T03:04:05.007Z' })), a);
  assert.ok(a.startsWith(`${Math.floor(ms / 1000)}.007,`));
});

test('a column of an unsupported type fails only when a row supplies it', () => {
  const codec = compileRowCodec('t', [col('id', 'String'), col('m', 'Map(String, UInt8)', 'DEFAULT')]);
  assert.equal(codec.encode({ id: 'x' }), '"x",\n');
  assert.throws(
    () => codec.encode({ id: 'x', m: { a: 1 } }),
    (err: unknown) => isAppError(err, 'STORE_ROW_INVALID') && /not supported/.test(err.message),
  );
});

test('a non-object row is rejected rather than crashing', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  for (const bad of [null, 'row', 5, [1, 2]]) {
    assert.throws(
      () => codec.encode(bad as unknown as object),
      (err: unknown) => isAppError(err, 'STORE_ROW_INVALID'),
    );
  }
});
