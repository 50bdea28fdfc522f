import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRandom, type Random } from '../../../bench/lib/random.ts';
import { createPingDecoder, type Ping } from '../../../src/ingest/index.ts';
import { createPingColumns, reservePingColumns } from '../../../src/ingest/ping-columns.ts';
import { createScannedPing, scanPing } from '../../../src/ingest/ping-scanner.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const fast = createPingDecoder({ now: () => NOW });
const strict = createPingDecoder({ now: () => NOW, byteReader: false });

const SIDS = [
  's00012345',
  'a',
  'x'.repeat(128),
  'x'.repeat(129),
  '',
  'абв1',
  'a"b',
  'a\\b',
  'a\nb',
  'é',
  'a\u007fb',
];
const SRCS = ['gps', 'cell', '', 'wifi', 'x'.repeat(32), 'x'.repeat(33), 'ü'];

/** A number as JSON text in one of many spellings, valid or not. */
function numberText(rnd: Random, v: number): string {
  if (rnd.chance(0.85)) return rnd.chance(0.5) ? v.toFixed(6) : String(Math.round(v));
  switch (rnd.int(0, 11)) {
    case 0:
      return v.toFixed(rnd.int(0, 9));
    case 1:
      return v.toExponential(rnd.int(0, 8));
    case 2:
      return String(v);
    case 3:
      return v.toPrecision(rnd.int(1, 21));
    case 4:
      return `0${Math.abs(Math.trunc(v))}`;
    case 5:
      return `${Math.trunc(v)}.`;
    case 6:
      return `+${Math.abs(v)}`;
    case 7:
      return `.${rnd.int(0, 99)}`;
    case 8:
      return rnd.pick([
        '-0',
        '-0.0',
        '0',
        '0.000',
        '-',
        '--1',
        '1e5',
        '1E-2',
        'NaN',
        'null',
        'true',
        '"1"',
        '[1]',
        '{}',
      ]);
    case 9:
      return `${Math.trunc(v)}.${'7'.repeat(rnd.int(10, 20))}`;
    case 10:
      return `${rnd.int(0, 9)}${'0'.repeat(rnd.int(10, 25))}`;
    default:
      return `${v < 0 ? '-' : ''}0.${'0'.repeat(rnd.int(0, 15))}${rnd.int(1, 999)}`;
  }
}

function stringText(rnd: Random, s: string): string {
  if (rnd.chance(0.9)) return JSON.stringify(s);
  if (rnd.chance(0.3)) return `"${s}"`; // raw: quotes, backslashes and control characters unescaped
  if (rnd.chance(0.5))
    return JSON.stringify(s).replace(/[a-z]/, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
  return JSON.stringify(s);
}

const space = (rnd: Random) => (rnd.chance(0.8) ? '' : rnd.pick([' ', '\n', '\t', '\r\n ', '  ']));

/** A ping message, usually well formed, sometimes with any of the oddities producers and attackers send. */
function message(rnd: Random): { text: string; sid: string } {
  const sid = rnd.chance(0.8) ? `s${rnd.int(0, 99_999_999)}` : rnd.pick(SIDS);
  const fields: Array<[string, string]> = [
    ['sid', stringText(rnd, sid)],
    ['lat', numberText(rnd, rnd.chance(0.95) ? rnd.range(-90, 90) : rnd.range(-95, 95))],
    ['lon', numberText(rnd, rnd.chance(0.95) ? rnd.range(-180, 180) : rnd.range(-185, 185))],
    [
      'ts',
      rnd.chance(0.9)
        ? String(NOW - rnd.int(-400_000, 8 * 86_400_000))
        : numberText(rnd, NOW + rnd.range(-1e9, 1e9)),
    ],
    ['acc', numberText(rnd, rnd.chance(0.95) ? rnd.range(0, 3_000) : rnd.range(-10, 120_000))],
    ['src', stringText(rnd, rnd.chance(0.7) ? 'gps' : rnd.pick(SRCS))],
  ];
  if (rnd.chance(0.1)) fields.splice(rnd.int(0, fields.length - 1), 1);
  if (rnd.chance(0.05)) fields.push([rnd.pick(['sid', 'lat', 'ts', 'src']), numberText(rnd, 1)]);
  if (rnd.chance(0.05)) fields.push([rnd.pick(['extra', 'x', '__proto__', 'Sid', 's\\u0069d', '']), '1']);
  if (rnd.chance(0.3))
    for (let i = fields.length - 1; i > 0; i--) {
      const j = rnd.int(0, i);
      [fields[i], fields[j]] = [fields[j], fields[i]];
    }
  let text = `${space(rnd)}{${fields.map(([k, v]) => `${space(rnd)}"${k}"${space(rnd)}:${space(rnd)}${v}${space(rnd)}`).join(',')}}${space(rnd)}`;
  if (rnd.chance(0.05)) text = text.slice(0, rnd.int(0, text.length));
  if (rnd.chance(0.05)) {
    const i = rnd.int(0, text.length);
    text = text.slice(0, i) + String.fromCharCode(rnd.int(0, 255)) + text.slice(i + 1);
  }
  if (rnd.chance(0.02)) text = rnd.pick(['[]', 'null', '{}', '', '{"sid":"a",}', '{"sid":"a"}x', '\ufeff{}']);
  return { text, sid };
}

function key(rnd: Random, sid: string): Buffer | null {
  switch (rnd.int(0, 5)) {
    case 0:
      return null;
    case 1:
      return Buffer.alloc(0);
    case 2:
      return Buffer.from(`${sid}x`);
    case 3:
      return Buffer.from(sid.length > 0 ? `${sid.slice(0, -1)}#` : 'k');
    default:
      return Buffer.from(sid);
  }
}

function assertSame(got: Ping | string, want: Ping | string, what: string) {
  if (typeof want === 'string' || typeof got === 'string') return assert.equal(got, want, what);
  for (const f of ['sid', 'lat', 'lon', 'ts', 'acc', 'src'] as const)
    assert.ok(Object.is(got[f], want[f]), `${what}: ${f}`);
}

test('the byte-level reader and JSON.parse agree on normal and adversarial messages', () => {
  const seed = Number(process.env.SEED ?? 20261123);
  const rnd = createRandom(seed);
  const cols = createPingColumns(1);
  const scanned = createScannedPing();
  let valid = 0;
  let read = 0;
  for (let n = 0; n < 50_000; n++) {
    const { text, sid } = message(rnd);
    const k = key(rnd, sid);
    const value = Buffer.from(text, rnd.chance(0.02) ? 'latin1' : 'utf8');
    const what = `seed ${seed}, message ${n}: ${JSON.stringify(text)} key ${k === null ? 'null' : JSON.stringify(k.toString())}`;
    const want = strict.decode(value, k);
    if (scanPing(value, 0, value.length, scanned)) read++;
    assertSame(fast.decode(value, k), want, what);
    // Packed between neighbours, as in a raw batch: the reader must not look past its message.
    const pad = Buffer.from(rnd.pick(['', '"', '}', '0', ',"ts":1}', ' ']));
    const keyBytes = k ?? Buffer.alloc(0);
    const bytes = Buffer.concat([pad, keyBytes, value, pad]);
    const ks = k === null ? -1 : pad.length;
    const ke = k === null ? -1 : pad.length + keyBytes.length;
    const vs = pad.length + keyBytes.length;
    const ve = vs + value.length;
    assertSame(fast.decodeAt(bytes, vs, ve, ks, ke), strict.decodeAt(bytes, vs, ve, ks, ke), what);
    reservePingColumns(cols, 1);
    const r = fast.decodeInto(bytes, vs, ve, ks, ke, cols, 7);
    if (typeof want === 'string') assert.equal(r, want, what);
    else {
      assert.equal(r, undefined, what);
      assert.equal(cols.n, 1);
      assert.equal(cols.index[0], 7);
      assertSame(
        {
          sid: cols.sid[0],
          lat: cols.lat[0],
          lon: cols.lon[0],
          ts: cols.ts[0],
          acc: cols.acc[0],
          src: want.src,
        },
        want,
        what,
      );
      valid++;
    }
  }
  // The generator must exercise both outcomes in earnest.
  assert.ok(valid > 10_000 && valid < 45_000, `valid messages: ${valid}`);
  assert.ok(read > 10_000 && read < 45_000, `messages the byte-level reader took: ${read}`);
});

test('a usual ping decodes to the same numbers as JSON.parse, down to the last bit', () => {
  const rnd = createRandom(7);
  for (let n = 0; n < 100_000; n++) {
    const lat = rnd.range(-90, 90).toFixed(rnd.int(0, 8));
    const lon = rnd.range(-180, 180).toFixed(rnd.int(0, 8));
    const acc = rnd.range(0, 5_000).toFixed(rnd.int(0, 3));
    const text = `{"sid":"s${n}","lat":${lat},"lon":${lon},"ts":${NOW - n},"acc":${acc},"src":"gps"}`;
    const got = fast.decode(Buffer.from(text)) as Ping;
    assert.equal(typeof got, 'object', text);
    assertSame(got, JSON.parse(text) as Ping, text);
  }
});
