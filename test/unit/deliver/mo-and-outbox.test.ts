import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { classifyMo, createMoAssembler } from '../../../src/deliver/mo.ts';
import { type OutboxIntent, type OutboxOrder, openOutbox } from '../../../src/deliver/outbox.ts';
import { encodeSms } from '../../../src/deliver/segmentation.ts';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

test('STOP words in English, Ukrainian and Russian are opt-outs whatever the case and punctuation', () => {
  for (const t of ['STOP', 'stop!', ' Stop please', 'СТОП', 'стоп.', 'Відписатися', 'отписка']) {
    assert.equal(classifyMo(t).action, 'opt_out', t);
  }
  assert.equal(classifyMo('K7Q2').action, 'none');
  assert.equal(classifyMo('help').action, 'help');
  assert.equal(classifyMo('stopwatch').action, 'none');
});

test('concatenated MO parts arriving out of order are reassembled once complete', () => {
  const text = `${'Дякую, '.repeat(12)}😀 СТОП`;
  const enc = encodeSms(text, 99);
  const asm = createMoAssembler();
  assert.ok(enc.parts.length >= 2);
  const order = [...enc.parts.keys()].reverse();
  let out: string | undefined;
  for (const i of order) out = asm.add('380501112233', enc.parts[i], true, 8, 0) ?? out;
  assert.equal(out, text);
  assert.equal(asm.pending, 0);
});

function buildIntent(over: Partial<OutboxIntent> = {}): OutboxIntent {
  return {
    id: 'm1',
    key: 's1|c1|enter',
    sid: 's1',
    campaignId: 'c1',
    fenceId: 'f1',
    storeId: '',
    tenant: 't',
    senderId: 'Shop',
    parts: 1,
    encoding: 'GSM7',
    tsMs: Date.now(),
    ...over,
  };
}

test('after a restart, keys are remembered and intents without an outcome come back as recovered', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger });
  await a.intend(buildIntent({ id: 'm1', key: 'k1' }));
  await a.intend(buildIntent({ id: 'm2', key: 'k2' }));
  a.settle('m1', 'submitted');
  await a.close();
  const b = await openOutbox({ dir, logger });
  assert.equal(b.has('k1'), true);
  assert.equal(b.has('k2'), true);
  assert.deepEqual(
    b.recovered.map((i) => i.id),
    ['m2'],
  );
  await assert.rejects(b.intend(buildIntent({ id: 'm3', key: 'k1' })), { code: 'VERSION_CONFLICT' });
  await b.close();
  const c = await openOutbox({ dir, logger });
  assert.equal(c.recovered.length, 0, 'recovered intents are compacted into keys');
  assert.equal(c.has('k2'), true);
  await c.close();
});

test('a directory file in CSV or NDJSON maps both ways, and a bad line names its number only', async () => {
  const { writeFile } = await import('node:fs/promises');
  const { loadDirectoryFile } = await import('../../../src/deliver/directory.ts');
  const dir = await mkdtemp(join(tmpdir(), 'directory-'));
  dirs.push(dir);
  const csv = join(dir, 'd.csv');
  await writeFile(csv, 'sid,msisdn\nsid-1,+380501234567\n{"sid":"sid-2","msisdn":"380501234568"}\n');
  const d = await loadDirectoryFile(csv);
  assert.equal(d.lookup('sid-1'), '380501234567');
  assert.equal(d.reverse('+380501234568'), 'sid-2');
  assert.equal(d.size, 2);
  const bad = join(dir, 'bad.csv');
  await writeFile(bad, 'sid-1,380501234567\nsid-2,not-a-number-0501\n');
  await assert.rejects(
    loadDirectoryFile(bad),
    (err: Error) => /line 2/.test(err.message) && !/0501/.test(err.message),
  );
});

test('a journal past its size limit is compacted in place and still knows every key and open intent', async () => {
  const { stat } = await import('node:fs/promises');
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger, maxBytes: 4096 });
  for (let i = 0; i < 200; i++) {
    await a.intend(buildIntent({ id: `m${i}`, key: `k${i}` }));
    if (i !== 7) a.settle(`m${i}`, 'submitted');
  }
  await a.close();
  const size = (await stat(join(dir, 'outbox.jsonl'))).size;
  assert.ok(size < 200 * 250, `journal is ${size} bytes`);
  const b = await openOutbox({ dir, logger });
  for (let i = 0; i < 200; i++) assert.equal(b.has(`k${i}`), true, `k${i}`);
  assert.deepEqual(
    b.recovered.map((x) => x.id),
    ['m7'],
  );
  await b.close();
});

test('a released intent (never written at shutdown) frees its key for a later run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger });
  await a.intend(buildIntent({ id: 'm1', key: 'k1' }));
  await a.intend(buildIntent({ id: 'm2', key: 'k2' }));
  a.release('m1', 'k1');
  assert.equal(a.has('k1'), false);
  await a.close();
  const b = await openOutbox({ dir, logger });
  assert.equal(b.has('k1'), false);
  assert.equal(b.has('k2'), true);
  assert.deepEqual(
    b.recovered.map((x) => x.id),
    ['m2'],
  );
  await b.close();
});

function buildOrder(over: Partial<OutboxOrder> = {}): OutboxOrder {
  return {
    id: 'm1',
    key: 's1|c1|enter',
    sid: 's1',
    campaignId: 'c1',
    fenceId: 'f1',
    storeId: 'st1',
    tenant: 't',
    senderId: 'Shop',
    text: 'Hello: 15% off today with code K7Q2',
    validityMinutes: 120,
    tsMs: Date.now(),
    ...over,
  };
}

test('an order queued but never intended survives a reopen and comes back as recovered queued', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger });
  const order = buildOrder({ id: 'm1', key: 'k1' });
  await a.enqueue(order);
  assert.equal(a.has('k1'), true, 'the key is taken as soon as the order is queued');
  await assert.rejects(a.enqueue(buildOrder({ id: 'm9', key: 'k1' })), { code: 'VERSION_CONFLICT' });
  // Killed here: no close, the record is on disk because enqueue resolved.
  const b = await openOutbox({ dir, logger });
  assert.deepEqual(b.recoveredQueued, [order]);
  assert.equal(b.recovered.length, 0);
  assert.equal(b.has('k1'), true);
  // The recovered order's own intent may follow; nobody else's may.
  await assert.rejects(b.intend(buildIntent({ id: 'm2', key: 'k1' })), { code: 'VERSION_CONFLICT' });
  await b.intend(buildIntent({ id: 'm1', key: 'k1' }));
  b.settle('m1', 'submitted');
  await b.close();
  const c = await openOutbox({ dir, logger });
  assert.equal(c.recoveredQueued.length, 0, 'a settled order is not queued any more');
  assert.equal(c.has('k1'), true);
  await c.close();
});

test('an order whose intent was journaled is recovered as in flight (unknown), never as queued', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger });
  await a.enqueue(buildOrder({ id: 'm1', key: 'k1' }));
  await a.enqueue(buildOrder({ id: 'm2', key: 'k2' }));
  await a.intend(buildIntent({ id: 'm1', key: 'k1' }));
  const b = await openOutbox({ dir, logger });
  assert.deepEqual(
    b.recovered.map((i) => i.id),
    ['m1'],
  );
  assert.deepEqual(
    b.recoveredQueued.map((o) => o.id),
    ['m2'],
  );
  await b.close();
});

test('a withdrawn intent (nothing written at shutdown) leaves the order queued for the next start', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger });
  await a.enqueue(buildOrder({ id: 'm1', key: 'k1' }));
  await a.intend(buildIntent({ id: 'm1', key: 'k1' }));
  a.requeue('m1');
  await a.close();
  const b = await openOutbox({ dir, logger });
  assert.equal(b.recovered.length, 0);
  assert.deepEqual(
    b.recoveredQueued.map((o) => o.id),
    ['m1'],
  );
  await b.close();
});

test('compaction keeps unfinished queued orders, with or without an intent, and drops finished ones', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger, maxBytes: 4096 });
  for (let i = 0; i < 200; i++) {
    await a.enqueue(buildOrder({ id: `m${i}`, key: `k${i}` }));
    if (i === 7) continue;
    await a.intend(buildIntent({ id: `m${i}`, key: `k${i}` }));
    if (i !== 11 && i !== 12) a.settle(`m${i}`, 'submitted');
  }
  // m12's intent is withdrawn after rotations compacted the journal: the order must still be there.
  a.requeue('m12');
  await a.close();
  const b = await openOutbox({ dir, logger });
  for (let i = 0; i < 200; i++) assert.equal(b.has(`k${i}`), true, `k${i}`);
  assert.deepEqual(b.recoveredQueued.map((o) => o.id).sort(), ['m12', 'm7']);
  assert.deepEqual(
    b.recovered.map((x) => x.id),
    ['m11'],
  );
  await b.close();
  // Reopening compacts again: the queued orders are still there, the in-flight one is now a key.
  const c = await openOutbox({ dir, logger });
  assert.deepEqual(c.recoveredQueued.map((o) => o.id).sort(), ['m12', 'm7']);
  assert.equal(c.recovered.length, 0);
  await c.close();
});

test('store rows stay journaled until confirmed, across rotations, and only unconfirmed ones come back', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  // A tiny size limit: the journal is compacted after nearly every flush.
  const a = await openOutbox({ dir, logger, maxBytes: 200 });
  for (let i = 0; i < 5; i++) a.record('message_events', { message_id: `m${i}`, event: 'submitted', ts: i });
  await a.synced();
  a.confirm(a.rowSeq);
  for (let i = 5; i < 8; i++) a.record('message_events', { message_id: `m${i}`, event: 'submitted', ts: i });
  a.record('messages', { message_id: 'm7', status: 'delivered' });
  await a.synced();
  await a.close();
  const b = await openOutbox({ dir, logger });
  assert.deepEqual(
    b.unconfirmedRows.map((r) => [r.table, r.row.message_id]),
    [
      ['message_events', 'm5'],
      ['message_events', 'm6'],
      ['message_events', 'm7'],
      ['messages', 'm7'],
    ],
  );
  // Numbering goes on from the journal, so a confirmation in this run covers the older rows too.
  assert.equal(b.rowSeq, 9);
  b.record('message_events', { message_id: 'm9', event: 'submitted', ts: 9 });
  await b.close();
  const c = await openOutbox({ dir, logger });
  assert.equal(c.unconfirmedRows.length, 5);
  c.confirm(c.rowSeq);
  await c.close();
  const d = await openOutbox({ dir, logger });
  assert.equal(d.unconfirmedRows.length, 0);
  await d.close();
});

test("messages awaiting receipts come back with each part's SMSC id and state; final ones do not", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'outbox-'));
  dirs.push(dir);
  const logger = pino({ level: 'silent' });
  const a = await openOutbox({ dir, logger, maxBytes: 300 });
  const two = buildIntent({ id: 'm1', key: 'k1', parts: 2 });
  const one = buildIntent({ id: 'm2', key: 'k2' });
  await a.intend(two);
  await a.intend(one);
  const exp = Date.now() + 60_000;
  a.track(two, 0, 'A1', exp);
  a.track(one, 0, 'B1', exp);
  a.settle('m2', 'submitted');
  a.partState('m1', 0, 'enroute');
  a.track(two, 1, 'A2', exp);
  a.settle('m1', 'submitted');
  a.partState('m2', 0, 'delivered');
  a.untrack('m2');
  await a.synced();
  await a.close();
  const b = await openOutbox({ dir, logger });
  assert.deepEqual(
    b.tracked.map((t) => [t.intent.id, t.smscIds, t.states]),
    [['m1', ['A1', 'A2'], ['enroute', 'submitted']]],
  );
  await b.close();
  // Reopening compacts: the tracked message is kept whole.
  const c = await openOutbox({ dir, logger });
  assert.deepEqual(
    c.tracked.map((t) => t.intent.id),
    ['m1'],
  );
  await c.close();
});
