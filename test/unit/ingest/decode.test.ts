import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createPingDecoder } from '../../../src/ingest/index.ts';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const decoder = createPingDecoder({ now: () => NOW });

function buildPing(over: Record<string, unknown> = {}) {
  return { sid: 'a1b2', lat: 50.45, lon: 30.52, ts: NOW - 1_000, acc: 25, src: 'gps', ...over };
}
const enc = (o: unknown) => Buffer.from(JSON.stringify(o));

test('a valid ping decodes to the parsed object', () => {
  assert.deepEqual(decoder.decode(enc(buildPing())), buildPing());
});

test('a ping without src gets an empty src', () => {
  const { src: _, ...rest } = buildPing();
  const r = decoder.decode(enc(rest));
  assert.equal(typeof r, 'object');
  assert.equal((r as { src: string }).src, '');
});

const cases: Array<[string, Buffer | string | null, string]> = [
  ['a null value', null, 'invalid_json'],
  ['truncated JSON', '{"sid":"a","lat":', 'invalid_json'],
  ['binary garbage', Buffer.from([0xff, 0x00, 0x13]), 'invalid_json'],
  ['a JSON array', '[1,2]', 'not_object'],
  ['JSON null', 'null', 'not_object'],
  ['a bare number', '42', 'not_object'],
  ['no sid', JSON.stringify({ ...buildPing(), sid: undefined }), 'sid_missing'],
  ['a numeric sid', enc(buildPing({ sid: 123 })), 'sid_invalid'],
  ['an empty sid', enc(buildPing({ sid: '' })), 'sid_invalid'],
  ['a huge sid', enc(buildPing({ sid: 'x'.repeat(500) })), 'sid_invalid'],
  ['no lat', JSON.stringify({ ...buildPing(), lat: undefined }), 'lat_missing'],
  ['lat as a string', enc(buildPing({ lat: '50.4' })), 'lat_invalid'],
  ['lat "NaN"', enc(buildPing({ lat: 'NaN' })), 'lat_invalid'],
  ['lat null (JSON of NaN)', enc(buildPing({ lat: Number.NaN })), 'lat_invalid'],
  ['lat above 90', enc(buildPing({ lat: 90.0001 })), 'lat_invalid'],
  ['lon below -180', enc(buildPing({ lon: -180.5 })), 'lon_invalid'],
  ['no lon', JSON.stringify({ ...buildPing(), lon: undefined }), 'lon_missing'],
  ['no ts', JSON.stringify({ ...buildPing(), ts: undefined }), 'ts_missing'],
  ['ts as ISO text', enc(buildPing({ ts: '2026-11-23T12:00:00Z' })), 'ts_invalid'],
  ['ts a day ahead', enc(buildPing({ ts: NOW + 86_400_000 })), 'ts_future'],
  ['ts in seconds (1970)', enc(buildPing({ ts: Math.floor(NOW / 1000) })), 'ts_past'],
  ['ts a month old', enc(buildPing({ ts: NOW - 30 * 86_400_000 })), 'ts_past'],
  ['no acc', JSON.stringify({ ...buildPing(), acc: undefined }), 'acc_missing'],
  ['negative acc', enc(buildPing({ acc: -1 })), 'acc_invalid'],
  ['absurd acc', enc(buildPing({ acc: 1e9 })), 'acc_invalid'],
  ['src as a number', enc(buildPing({ src: 7 })), 'src_invalid'],
  ['an oversized message', Buffer.alloc(5_000, 32), 'too_large'],
];
for (const [what, value, reason] of cases) {
  test(`${what} is rejected as ${reason}`, () => {
    assert.equal(decoder.decode(value), reason);
  });
}

test('boundary coordinates and zero accuracy are valid', () => {
  assert.equal(typeof decoder.decode(enc(buildPing({ lat: -90, lon: 180, acc: 0 }))), 'object');
});

test('a Kafka key that differs from the sid is rejected; an equal or absent key is fine', () => {
  assert.equal(decoder.decode(enc(buildPing()), Buffer.from('other')), 'key_mismatch');
  assert.equal(typeof decoder.decode(enc(buildPing()), Buffer.from('a1b2')), 'object');
  assert.equal(typeof decoder.decode(enc(buildPing()), null), 'object');
  // Same length, one byte off; non-ASCII sids compared as UTF-8 text.
  assert.equal(decoder.decode(enc(buildPing()), Buffer.from('a1b3')), 'key_mismatch');
  assert.equal(decoder.decode(enc(buildPing()), Buffer.from('a1b\u00e9')), 'key_mismatch');
  assert.equal(typeof decoder.decode(enc(buildPing({ sid: 'абв1' })), Buffer.from('абв1')), 'object');
  assert.equal(decoder.decode(enc(buildPing({ sid: 'абв1' })), Buffer.from('абв2')), 'key_mismatch');
  assert.equal(decoder.decode(enc(buildPing({ sid: 'ab' })), Buffer.from([0xd0, 0xb0])), 'key_mismatch');
});

test('a ping slightly in the future (clock skew) is accepted', () => {
  assert.equal(typeof decoder.decode(enc(buildPing({ ts: NOW + 60_000 }))), 'object');
});
