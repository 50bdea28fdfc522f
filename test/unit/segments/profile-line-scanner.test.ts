import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { isAppError } from '../../../src/errors.ts';
import { createProfileLineScanner } from '../../../src/segments/profile-line-scanner.ts';
import {
  ATTRIBUTES,
  createProfileStore,
  createRandom,
  generateSubscribers,
  type LoadResult,
  loadProfilesNdjson,
  type ProfileInput,
  type ProfileStore,
} from './helpers.ts';

const SEED = 20261123;
const NOW = Date.UTC(2026, 10, 23, 12);

/** The general path as it was before the scanner: JSON.parse, object check, upsert; per-line errors. */
function loadReference(lines: readonly string[], store: ProfileStore): LoadResult {
  const result: LoadResult = { loaded: 0, rejected: 0, errors: [] };
  for (const [i, raw] of lines.entries()) {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) continue;
    const fail = (message: string) => {
      result.rejected++;
      result.errors.push({ line: i + 1, message });
    };
    try {
      const row = JSON.parse(text) as unknown;
      if (row === null || typeof row !== 'object' || Array.isArray(row)) {
        fail('expected a JSON object');
        continue;
      }
      store.upsert((row as ProfileInput).sid as string, row as ProfileInput);
      result.loaded++;
    } catch (err) {
      if (isAppError(err)) fail(err.message);
      else if (err instanceof SyntaxError) fail(`not valid JSON: ${err.message}`);
      else throw err;
    }
  }
  return result;
}

/** Loads the lines both ways and checks they agree on the result, every error and every stored byte. */
async function assertSameAsGeneralPath(lines: readonly string[], seed: number): Promise<void> {
  const fast = createProfileStore({ capacity: 16 });
  const general = createProfileStore({ capacity: 16 });
  // 997-byte chunks: lines, and some multi-byte characters, straddle chunk boundaries
  const text = Buffer.from(lines.join('\n'));
  const chunks = Array.from({ length: Math.ceil(text.length / 997) }, (_, i) =>
    text.subarray(i * 997, (i + 1) * 997),
  );
  const got = await loadProfilesNdjson(Readable.from(chunks), fast, { maxErrors: lines.length });
  const want = loadReference(lines, general);
  assert.deepEqual(got, want, `seed ${seed}`);
  assert.equal(fast.size, general.size, `seed ${seed}`);
  assert.equal(fast.highWater, general.highWater, `seed ${seed}`);
  const used = fast.highWater * fast.layout.bytesPerSlot;
  assert.deepEqual(fast.rows.u8.subarray(0, used), general.rows.u8.subarray(0, used), `seed ${seed}`);
  for (let s = 0; s < fast.highWater; s++) assert.equal(fast.sidAt(s), general.sidAt(s), `seed ${seed}`);
}

/** Lines the scanner takes (it reads bytes; the loader gives it each line's UTF-8). */
function takenByScanner(lines: readonly string[]): number {
  const scan = createProfileLineScanner(createProfileStore().layout);
  const raws = new Float64Array(ATTRIBUTES.length);
  return lines.filter((l) => {
    const b = Buffer.from(l);
    return scan(b, 0, b.length, raws) !== undefined;
  }).length;
}

const generated = (seed: number, count: number) => [...generateSubscribers({ seed, count, nowMs: NOW })];

test('the scanner takes generated profile lines and stores exactly what the general path stores', async () => {
  const profiles = generated(SEED, 3000);
  const lines = profiles.map((p) => JSON.stringify(p));
  // the fast path must actually be the common path for plain lines
  assert.equal(takenByScanner(lines), lines.length);
  await assertSameAsGeneralPath(lines, SEED);
});

test('the scanner reads a line inside a longer text only between its bounds', () => {
  const layout = createProfileStore().layout;
  const scan = createProfileLineScanner(layout);
  const raws = new Float64Array(layout.attrs.length);
  const line = '{"sid":"a1","age":30,"gender":"male"}';
  const text = Buffer.from(`${line}\n{"sid":"zz"}`);
  assert.equal(scan(text, 0, line.length, raws), 'a1');
  assert.equal(raws[layout.attrs.findIndex((a) => a.attr.name === 'age')], 21);
  // a string or number cut by the bound is not read past it
  assert.equal(scan(text, 0, line.length - 3, raws), undefined);
  assert.equal(scan(Buffer.from('{"sid":"a1","age":30}'), 0, 19, raws), undefined);
  assert.equal(scan(Buffer.from('{"sid":"a1","age":30}'), 0, 12, raws), undefined);
  for (const tail of ['null}', 'true}', 'false}', '"2026-11-23"}', '["kids"]}']) {
    const attr = tail.startsWith('"') ? 'last_activity_at' : tail.startsWith('[') ? 'interests' : 'esim';
    const whole = Buffer.from(`{"sid":"a1","${attr}":${tail}`);
    assert.equal(scan(whole, 0, whole.length, raws), 'a1', tail);
    for (let cut = whole.length - tail.length; cut < whole.length; cut++)
      assert.equal(scan(whole, 0, cut, raws), undefined, `${tail} cut at ${cut}`);
  }
});

// values that are plain, unusual, invalid or at a boundary, per attribute type
const TOKENS: Record<string, readonly string[]> = {
  int: [
    '0',
    '-0',
    '1',
    '10',
    '100',
    '101',
    '9',
    '-1',
    '34.0',
    '34.5',
    '1e1',
    '1E1',
    '01',
    '"34"',
    '" 34 "',
    '""',
    '600',
    '601',
    '50000',
    '50001',
    '9007199254740993',
    '123456789012345',
    '1234567890123456',
    'true',
    'null',
    '[]',
    '{}',
    '-',
    '+1',
    '.5',
    '1.',
    'NaN',
  ],
  decimal: [
    '0',
    '-0',
    '0.0',
    '-0.0',
    '0.005',
    '0.015',
    '0.125',
    '1.005',
    '12.345',
    '600',
    '600.00',
    '600.004',
    '600.01',
    '-0.001',
    '1e-2',
    '0.1E1',
    '00.5',
    '5000',
    '4999.95',
    '1.000000000000001',
    '0.000000000000001',
    '123456789012.34',
    '0.0049999999999999999',
    '4999.9999999999999',
    '0.12345678901234567',
    '"1.5"',
    'null',
    'false',
    '.5',
    '1.',
    '-',
    '1.2.3',
  ],
  enum: [
    '"pxxmxxm"',
    '"a_xxle"',
    '"ru"',
    '"en"',
    '"RU"',
    '"r\\u0075"',
    '"\\u0072u"',
    '""',
    '" "',
    '"ru "',
    '"other"',
    '"smart_s"',
    '"5g"',
    '"ios"',
    '"apple"',
    '"flagship"',
    'null',
    '1',
    'true',
    '["ru"]',
    '"ру"',
    '"\t"',
  ],
  bool: ['true', 'false', 'null', '"true"', '"yes"', '1', '0', '"1"', 'tru', 'falsey', 'True', '""'],
  set: [
    '[]',
    '["sports"]',
    '["sports","sports"]',
    '[ "kids" , "coffee" ]',
    '["Sports"]',
    '["sports",]',
    '[,]',
    '["knitting"]',
    '"sports|travel"',
    '"sports"',
    'null',
    '[null]',
    '[1]',
    '["spo\\u0072ts"]',
    '[[]]',
    '""',
    '["health","education","finance","movies","music","books","coffee","restaurants","food_delivery","home_garden","kids","pets","auto","gaming","electronics","beauty","fashion","travel","fitness","sports"]',
  ],
  timestamp: [
    '"2026-11-23"',
    '"1970-01-01"',
    '"1970-01-02"',
    '"2149-06-06"',
    '"2149-06-07"',
    '"2024-02-29"',
    '"2026-02-29"',
    '"2026-13-01"',
    '"2026-11-31"',
    '"20/6-11-01"',
    '"2026-11-23T10:00:00Z"',
    '"2026-11-23 10:00"',
    '"2026-11-2"',
    '1764000000000',
    '0',
    'null',
    '""',
    '"yesterday"',
    '"2026\\u002d11-23"',
  ],
};
const SIDS = [
  '"a1"',
  '"a\tb"',
  '"a\u0001"',
  '"0a1b2c3d4e5f6789"',
  '"ABC-def_1.2:3=4+5/6"',
  '""',
  '"has space"',
  '"ключ"',
  '1',
  'null',
  '"a\\u0031"',
  `"${'x'.repeat(64)}"`,
  `"${'x'.repeat(65)}"`,
];
const WS = ['', ' ', '  ', '\t', '\r', ' \t '];

/** A JSON text of a profile, built token by token so keys, values and spacing can be bent. */
function bentLine(profile: Record<string, unknown>, random: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  // tabs and carriage returns (valid JSON whitespace) send a line to the general path: keep them rare
  const ws = () => (random() < 0.1 ? (random() < 0.05 ? pick(WS) : pick([' ', '  '])) : '');
  const entries: [string, string][] = Object.entries(profile).map(([k, v]) => [
    JSON.stringify(k),
    JSON.stringify(v),
  ]);
  const mutations = Math.floor(random() * 4);
  for (let m = 0; m < mutations; m++) {
    const r = random();
    const i = Math.floor(random() * entries.length);
    if (r < 0.55) {
      const name = JSON.parse(entries[i][0]) as string;
      const attr = ATTRIBUTES.find((a) => a.name === name);
      entries[i][1] = attr ? pick(TOKENS[attr.type]) : pick(SIDS);
    } else if (r < 0.62) entries.splice(i, 1);
    else if (r < 0.69) entries.push([entries[i][0], pick(TOKENS[pick(Object.keys(TOKENS))])]);
    else if (r < 0.74)
      entries.push([pick(['"shoe_size"', '"__proto__"', '"Age"', '"age "', '"1"', '"a\\u0067e"']), '1']);
    else if (r < 0.8) entries.reverse();
    else entries[i][0] = pick(['"sid"', '"ag"', '"agee"', '"s\\u0069d"', entries[i][0]]);
  }
  let text = `${ws()}{${ws()}${entries.map(([k, v]) => `${k}${ws()}:${ws()}${v}${ws()}`).join(`,${ws()}`)}}${ws()}`;
  const r = random();
  if (r < 0.04) text = text.slice(0, Math.floor(random() * text.length));
  else if (r < 0.06) text = `${text},`;
  else if (r < 0.08) text = `[${text}]`;
  else if (r < 0.09) text = `\uFEFF${text}`;
  else if (r < 0.1) text = `${text}}`;
  return text;
}

test('the scanner agrees with the general path on bent, invalid and boundary lines (seeded)', async () => {
  for (const seed of [SEED, SEED + 1, SEED + 2]) {
    const random = createRandom(seed);
    const profiles = generated(seed, 2000);
    const lines = profiles.map((p) => bentLine(p, random));
    // a few sids repeat, so replacing a stored profile is covered too
    for (let i = 0; i < 200; i++) lines.push(bentLine(profiles[Math.floor(random() * 50)], random));
    lines.push(
      '',
      '   ',
      '\r',
      'null',
      '42',
      '"x"',
      '{}',
      '{"sid":"only"}',
      '{"sid":"dup","sid":"dup2","age":30,"age":31}',
    );
    await assertSameAsGeneralPath(lines, seed);
    // both paths must be exercised: most bent lines are still plain, many are not
    const taken = takenByScanner(lines);
    assert.ok(
      taken > lines.length * 0.3 && taken < lines.length * 0.9,
      `seed ${seed}: ${taken}/${lines.length}`,
    );
  }
});

test('every token alone agrees with the general path, for every attribute of its type', async () => {
  const lines: string[] = [];
  for (const attr of ATTRIBUTES) {
    for (const token of TOKENS[attr.type]) lines.push(`{"sid":"t${lines.length}","${attr.name}":${token}}`);
  }
  for (const sid of SIDS) lines.push(`{"sid":${sid},"age":30}`, `{"age":30,"sid":${sid}}`);
  await assertSameAsGeneralPath(lines, 0);
});

test('members that look alike or are not ASCII are told apart as the general path does', () => {
  const catalogue = [
    {
      name: 'code',
      group: 'telecom' as const,
      type: 'enum' as const,
      values: ['axbc', 'aybc', 'é', 'a'],
      description: '',
    },
    {
      name: 'tags',
      group: 'interests' as const,
      type: 'set' as const,
      values: ['k1', 'k2', 'x'.repeat(70)],
      description: '',
    },
  ];
  const fast = createProfileStore({ catalogue });
  const general = createProfileStore({ catalogue });
  const scan = createProfileLineScanner(fast.layout);
  const raws = new Float64Array(catalogue.length);
  const values = ['"axbc"', '"aybc"', '"azbc"', '"é"', '"a"', '""', 'null'];
  const sets = ['["k1"]', '["k2","k1"]', `["${'x'.repeat(70)}"]`, '["k3"]', '[]'];
  for (const [i, v] of values.entries()) {
    for (const [j, t] of sets.entries()) {
      const line = `{"sid":"s${i}-${j}","code":${v},"tags":${t}}`;
      const bytes = Buffer.from(line);
      const sid = scan(bytes, 0, bytes.length, raws);
      let want: unknown;
      try {
        general.upsert(`s${i}-${j}`, JSON.parse(line));
        want = general.get(`s${i}-${j}`);
      } catch (err) {
        want = (err as Error).message;
      }
      if (sid === undefined) continue;
      fast.upsertEncoded(sid, raws);
      assert.deepEqual(fast.get(sid), want, line);
    }
  }
});
