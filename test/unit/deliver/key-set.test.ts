import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { openOutbox } from '../../../src/deliver/index.ts';
import { hashHex, KeySet, keyHash, parseHashHex } from '../../../src/deliver/key-set.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const logger = pino({ level: 'silent' });
const MIN = 60_000;

test('the key set agrees with a Map of key strings through adds, deletes, purges and rehashes', () => {
  let seed = 7;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const set = new KeySet(4);
  const ref = new Map<string, number>();
  for (let step = 0; step < 60_000; step++) {
    const key = `sid${Math.floor(rnd() * 5000)}|camp-${Math.floor(rnd() * 7)}|enter|${Math.floor(rnd() * 3)}`;
    const r = rnd();
    const ts = step * 1000;
    if (r < 0.6) {
      set.add(key, ts);
      ref.set(key, Math.max(ref.get(key) ?? 0, Math.floor(ts / MIN) * MIN));
    } else if (r < 0.9) {
      assert.equal(set.delete(key), ref.delete(key), `delete ${key} at ${step}`);
    } else if (r < 0.9005) {
      const cutoff = ts - 600_000;
      set.purge(cutoff);
      for (const [k, t] of ref) if (t < Math.floor(cutoff / MIN) * MIN) ref.delete(k);
    }
    if (step % 997 === 0) {
      assert.equal(set.size, ref.size, `size at ${step}`);
      for (const k of ref.keys()) assert.equal(set.has(k), true, `${k} at ${step}`);
    }
    assert.equal(set.has(key), ref.has(key), `${key} at ${step}`);
  }
  const seen = new Map<string, number>();
  set.forEach((hi, lo, ts) => {
    seen.set(hashHex(hi, lo), ts);
  });
  assert.equal(seen.size, ref.size);
  for (const [k, t] of ref) {
    const [hi, lo] = keyHash(k);
    assert.equal(seen.get(hashHex(hi, lo)), t, k);
  }
});

test('key hashes differ for keys that differ in one character or only in length', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200_000; i++) {
    for (const k of [`s${i}|c1|enter|1`, `s${i}|c1|enter|1 `, `s${i}|c1|dwell|1`]) {
      const [hi, lo] = keyHash(k);
      const hex = hashHex(hi, lo);
      assert.ok(!seen.has(hex), `collision on ${k}`);
      seen.add(hex);
      assert.deepEqual(parseHashHex(hex), [hi, lo]);
    }
  }
  assert.equal(parseHashHex('xyz'), undefined);
});

test('a journal from before (keys spelled out) still loads; compaction rewrites its keys as hashes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-keys-'));
  dirs.push(dir);
  const now = Date.now();
  await writeFile(
    join(dir, 'outbox.jsonl'),
    `${JSON.stringify({ t: 'K', k: 'old|c1|enter|1', id: 'm1', ts: now - 1000 })}\n${JSON.stringify({ t: 'K', k: 'stale|c1|enter|1', id: 'm2', ts: now - 3 * 86_400_000 })}\n`,
  );
  const a = await openOutbox({ dir, logger, retentionDays: 2 });
  assert.equal(a.has('old|c1|enter|1'), true);
  assert.equal(a.has('stale|c1|enter|1'), false, 'past retention');
  await a.close();
  const text = await readFile(join(dir, 'outbox.jsonl'), 'utf8');
  assert.ok(!text.includes('old|c1'), 'no key text after compaction');
  const b = await openOutbox({ dir, logger });
  assert.equal(b.has('old|c1|enter|1'), true);
  await b.close();
});

test('a compacted journal above the size limit is not compacted again until it doubles', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-keys-'));
  dirs.push(dir);
  const order = (i: number) => ({
    id: `m${i}`,
    key: `k${i}`,
    sid: `sid-${i}`,
    campaignId: 'c1',
    fenceId: 'f1',
    storeId: 's1',
    tenant: 't1',
    senderId: 'Shop',
    text: 'hello',
    validityMinutes: 120,
    tsMs: Date.now(),
  });
  // 2,000 keys compact to ~90 kB, far above a 4 kB limit.
  const a = await openOutbox({ dir, logger, maxBytes: 4096 });
  for (let i = 0; i < 2000; i++) {
    await a.enqueue(order(i));
    a.settle(`m${i}`, 'submitted');
  }
  await a.close();
  const b = await openOutbox({ dir, logger, maxBytes: 4096 });
  const compacted = (await readFile(join(dir, 'outbox.jsonl'), 'utf8')).length;
  assert.ok(compacted > 4096 * 10, `compacted ${compacted} B`);
  // A few more orders, each settled: appended, their D records stay in the journal (compacting on
  // each flush, as before, dropped them every time and rewrote the whole key set).
  for (let i = 2000; i < 2010; i++) {
    await b.enqueue(order(i));
    b.settle(`m${i}`, 'submitted');
    await b.synced();
  }
  const text = await readFile(join(dir, 'outbox.jsonl'), 'utf8');
  for (let i = 2000; i < 2010; i++) assert.ok(text.includes(`"t":"D","id":"m${i}"`), `D of m${i} appended`);
  for (let i = 0; i < 2010; i++) assert.equal(b.has(`k${i}`), true);
  await b.close();
});
