import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom } from '../../../bench/lib/random.ts';
import { isAppError } from '../../../src/errors.ts';
import { type ByteSink, compileRowCodec } from '../../../src/store/row-codec.ts';
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

// The text of each field the straightforward way (String(), template strings), to check the byte encoder against.
const utf8 = (s: string) => Buffer.from(s, 'utf8').toString('utf8');
const reference = {
  csv: (s: string) => `"${s.replaceAll('"', '""')}"`,
  ts: (ms: number) => `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}`,
};

test('rows written as bytes are the same UTF-8 as their text, for seeded awkward values', () => {
  const SEED = 20261123;
  const rnd = createRandom(SEED);
  const codec = compileRowCodec('t', [
    col('ts', "DateTime64(3, 'UTC')"),
    col('s', 'String'),
    col('lc', 'LowCardinality(String)'),
    col('n', 'Nullable(String)'),
    col('i64', 'Int64'),
    col('u32', 'UInt32'),
    col('i8', 'Int8'),
    col('f', 'Float64'),
    col('d', 'UInt8', 'DEFAULT'),
  ]);
  const alphabet = [
    'a',
    'Z',
    '0',
    ' ',
    ',',
    '"',
    "'",
    '\\',
    '\n',
    '\r',
    '\t',
    'é',
    'Я',
    '€',
    '🛑',
    '\u0000',
    '\ud800',
  ];
  const str = () => {
    let s = '';
    for (let k = rnd.int(0, 12); k > 0; k--) s += rnd.pick(alphabet);
    return s;
  };
  const sink: ByteSink = { buf: Buffer.alloc(16), size: 0 };
  let want = '';
  for (let i = 0; i < 2000; i++) {
    const ms = rnd.int(0, 99_999_999_999_999);
    const row = {
      ts: ms,
      s: str(),
      lc: str(),
      n: rnd.chance(0.3) ? null : str(),
      i64: rnd.pick([
        0,
        -1,
        Number.MAX_SAFE_INTEGER,
        Number.MIN_SAFE_INTEGER,
        rnd.int(-1e15, 1e15),
        rnd.int(-99, 99),
      ]),
      u32: rnd.pick([0, 9, 10, 99, 100, 4_294_967_295, rnd.int(0, 4_294_967_295)]),
      i8: rnd.int(-128, 127),
      f: rnd.pick([0, -0.5, 1e-7, 123.456, rnd.range(-1e20, 1e20)]),
      d: rnd.chance(0.5) ? undefined : rnd.int(0, 255),
    };
    codec.encodeInto(row, sink);
    const fields = [
      reference.ts(ms),
      reference.csv(row.s),
      reference.csv(row.lc),
      row.n === null ? '\\N' : reference.csv(row.n),
      String(row.i64),
      String(row.u32),
      String(row.i8),
      String(row.f),
      row.d === undefined ? '' : String(row.d),
    ];
    want += `${fields.join(',')}\n`;
    // Through UTF-8 as the insert sees it (a lone surrogate becomes U+FFFD either way).
    assert.equal(codec.encode(row), utf8(`${fields.join(',')}\n`), `seed ${SEED}, row ${i}`);
  }
  assert.deepEqual(sink.buf.subarray(0, sink.size), Buffer.from(want, 'utf8'), `seed ${SEED}`);
});

test('a rejected row leaves the bytes already written untouched', () => {
  const codec = compileRowCodec('decisions', decisionColumns);
  const sink: ByteSink = { buf: Buffer.alloc(8), size: 0 };
  codec.encodeInto(buildRow({ sid: 'first' }), sink);
  const before = sink.buf.toString('utf8', 0, sink.size);
  // Fails on the last columns, after the first fields were written.
  rejects(() => codec.encodeInto(buildRow({ sid: 'x'.repeat(500), score: 'high' }), sink), 'score');
  rejects(() => codec.encodeInto(buildRow({ typo: 1 }), sink), 'typo');
  assert.equal(sink.buf.toString('utf8', 0, sink.size), before);
  codec.encodeInto(buildRow({ sid: 'second' }), sink);
  assert.equal(sink.buf.toString('utf8', 0, sink.size), before + codec.encode(buildRow({ sid: 'second' })));
});
