import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import {
  createProfileStore,
  generateSubscribers,
  isAppErrorCode,
  loadProfilesCsv,
  loadProfilesNdjson,
  loadSegmentCatalogue,
} from './helpers.ts';

/** Splits text into awkward chunks so rows straddle chunk boundaries. */
const chunked = (text: string, size = 7) =>
  Readable.from(
    Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
      Buffer.from(text.slice(i * size, (i + 1) * size)),
    ),
  );

test('NDJSON load counts and reports bad rows by line and keeps loading after them', async () => {
  const store = createProfileStore();
  const text = [
    '{"sid":"a1","age":30,"interests":["sports"]}',
    '{broken',
    '[1,2]',
    '{"age":30}',
    '',
    '{"sid":"a2","gender":"robot"}',
    '{"sid":"a3","shoe_size":44}',
    '{"sid":"a4","last_activity_at":"2026-11-01T08:00:00Z"}\r',
    '{"sid":"a5","age":"41"}',
  ].join('\n');
  const result = await loadProfilesNdjson(chunked(text), store);
  assert.equal(result.loaded, 3);
  assert.equal(result.rejected, 5);
  assert.deepEqual(
    result.errors.map((e) => e.line),
    [2, 3, 4, 6, 7],
  );
  assert.match(result.errors[3].message, /gender/);
  assert.match(result.errors[4].message, /shoe_size/);
  assert.equal(store.size, 3);
  assert.equal(store.get('a4')!.last_activity_at, '2026-11-01');
});

test('NDJSON load keeps only maxErrors errors but counts every rejected row', async () => {
  const store = createProfileStore();
  const text = `${Array.from({ length: 50 }, () => 'nope').join('\n')}\n{"sid":"ok"}`;
  const result = await loadProfilesNdjson(chunked(text, 13), store, { maxErrors: 5 });
  assert.equal(result.rejected, 50);
  assert.equal(result.errors.length, 5);
  assert.equal(result.loaded, 1);
});

test('CSV load parses typed cells, ignores unknown columns and skips bad rows', async () => {
  const store = createProfileStore();
  const csv = [
    'sid,age,gender,interests,has_children,last_purchase_at,arpu,msisdn',
    'c1,34,female,sports|coffee,yes,2026-10-01,12.5,380000',
    'c2,7,male,,,,,',
    'c3,"40",male,"travel|books",0,,,',
    'c5,22,female,,,,',
    'c6,61,,,true,,99.99,',
    // an unclosed quote runs to the end of the input (a quoted cell may span lines): one bad record
    'c4,50,"unterminated,male,,,,,',
    'c7,30,male,,,,,',
  ].join('\n');
  const result = await loadProfilesCsv(chunked(csv), store);
  assert.equal(result.loaded, 3, JSON.stringify(result));
  assert.equal(result.rejected, 3, JSON.stringify(result));
  assert.ok(result.errors.some((e) => /Quote/.test(e.message)));
  assert.ok(result.errors.some((e) => e.line === 1 && /msisdn/.test(e.message)));
  assert.ok(result.errors.some((e) => /age/.test(e.message)));
  assert.deepEqual(store.get('c1')!.interests, ['sports', 'coffee']);
  assert.equal(store.get('c1')!.has_children, true);
  assert.equal(store.get('c3')!.has_children, false);
  assert.equal(store.get('c6')!.arpu, 99.99);
  assert.equal(store.get('c2'), undefined);
});

test('a CSV without a sid column rejects every row without throwing', async () => {
  const store = createProfileStore();
  const result = await loadProfilesCsv(Readable.from(['age\n30\n31\n']), store);
  assert.equal(result.loaded, 0);
  assert.equal(result.rejected, 3);
});

test('generated profiles round-trip through NDJSON into the store unchanged', async () => {
  const profiles = [...generateSubscribers({ seed: 11, count: 500 })];
  const store = createProfileStore();
  const result = await loadProfilesNdjson(
    chunked(profiles.map((p) => JSON.stringify(p)).join('\n'), 4096),
    store,
  );
  assert.deepEqual(result, { loaded: 500, rejected: 0, errors: [] });
  for (const p of profiles.slice(0, 50)) {
    const { sid, ...attrs } = p;
    assert.deepEqual(store.get(sid), attrs);
  }
});

test('a segment catalogue with a bad file or a duplicate id fails naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'segments-'));
  try {
    const good = { id: 'a', name: 'A', rule: { attr: 'age', op: 'exists' } };
    await writeFile(join(dir, 'a.json'), JSON.stringify(good));
    assert.equal((await loadSegmentCatalogue(dir)).length, 1);
    await writeFile(
      join(dir, 'b.json'),
      JSON.stringify({ ...good, id: 'b', rule: { attr: 'agee', op: 'exists' } }),
    );
    await assert.rejects(
      loadSegmentCatalogue(dir),
      (e: unknown) => isAppErrorCode(e, 'SEGMENT_INVALID') && /b\.json.*agee/.test((e as Error).message),
    );
    await writeFile(join(dir, 'b.json'), JSON.stringify(good));
    await assert.rejects(
      loadSegmentCatalogue(dir),
      (e: unknown) => isAppErrorCode(e, 'SEGMENT_INVALID') && /also used/.test((e as Error).message),
    );
    await writeFile(join(dir, 'b.json'), '{');
    await assert.rejects(
      loadSegmentCatalogue(dir),
      (e: unknown) => isAppErrorCode(e, 'SEGMENT_INVALID') && /b\.json/.test((e as Error).message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
