import assert from 'node:assert/strict';
import { copyFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isAppError } from '../../../src/errors.ts';
import { createWriter, type Store } from '../../../src/store/index.ts';
import { BASE_MS, buildDecision, count, logger, makeDataDir, openStore, sleep, until } from './fixture.ts';

let data: Awaited<ReturnType<typeof makeDataDir>>;
before(async () => {
  data = await makeDataDir();
});
after(async () => {
  await data.remove();
});

// A real outage of the embedded engine: the table is detached, so every insert into it fails inside
// ClickHouse (UNKNOWN_TABLE) until it is attached again.
const outage = (store: Store, table = 'decisions') =>
  store.command(`DETACH TABLE ${store.database}.${table}`);
const recover = (store: Store, table = 'decisions') =>
  store.command(`ATTACH TABLE ${store.database}.${table}`);

test('rows are batched per table by size and by time', async () => {
  const store = await openStore(data.dir, { database: 'w_batch' });
  const writer = createWriter({
    store,
    logger,
    spillDir: join(data.dir, 'spill-batch'),
    batchRows: 100,
    flushMs: 50,
  });
  try {
    for (let i = 0; i < 250; i++) writer.write('decisions', buildDecision({ sid: `s${i}` }));
    writer.write('message_events', {
      ts: Date.now(),
      message_id: 'm1',
      tenant: 'acme',
      campaign_id: 'c1',
      store_id: 'st1',
      sid: 's1',
      event: 'submitted',
      parts: 2,
      smsc_message_id: 'x',
      error_code: '',
      detail: '',
    });
    // Two full batches go at once; the remaining 50 and the event wait for the timer.
    await until(() => writer.stats().insertedBatches >= 2, 5000, 'size-triggered batches');
    await until(async () => (await count(store, 'decisions')) === 250, 5000, 'time-triggered batch');
    assert.equal(await count(store, 'message_events'), 1);
    assert.equal(writer.stats().insertedRows, 251);
  } finally {
    await writer.close();
    await store.close();
  }
});

test('while every insert slot is busy a full batch keeps growing up to maxBatchRows instead of queueing', async () => {
  const store = await openStore(data.dir, { database: 'w_grow' });
  const writer = createWriter({
    store,
    logger,
    spillDir: join(data.dir, 'spill-grow'),
    batchRows: 10,
    maxBatchRows: 100,
    maxInflight: 1,
    spillAfterMs: 60_000,
    maxBackoffMs: 50,
  });
  try {
    // The first 10 rows go at once and fail: the slot stays taken (retrying with backoff) while 300 more arrive.
    await outage(store);
    for (let i = 0; i < 310; i++) writer.write('decisions', buildDecision({ sid: `g${i}` }));
    // Three batches of 100 wait behind the one in flight.
    assert.equal(writer.stats().queuedBatches, 3);
    await recover(store);
    await writer.flush();
    assert.equal(await count(store, 'decisions'), 310);
    // 10 + 3 × 100 rows, not 31 batches of 10.
    assert.equal(writer.stats().insertedBatches, 4);
    assert.equal(writer.stats().insertedRows, 310);
  } finally {
    await writer.close();
    await store.close();
  }
});

test('awkward strings round-trip through the writer unchanged', async () => {
  const store = await openStore(data.dir, { database: 'w_strings' });
  const writer = createWriter({ store, logger, spillDir: join(data.dir, 'spill-strings') });
  const nasty = [
    '',
    ' ',
    'a,b',
    'say "hi"',
    'line1\nline2\r\n',
    'tab\there',
    'back\\slash\\',
    "it's",
    'trailing  ',
    'СТОП 🛑',
    '\\N',
  ];
  try {
    for (const [i, detail] of nasty.entries()) {
      writer.write('message_events', {
        ts: BASE_MS,
        message_id: `m${i}`,
        tenant: 'acme',
        campaign_id: 'c1',
        store_id: 'st1',
        sid: 's1',
        event: 'failed',
        parts: 0,
        smsc_message_id: detail,
        error_code: '',
        // The last column: an empty or space-ended value here is where inline TSV data broke.
        detail,
      });
    }
    await writer.flush();
    const rows = await store.query<{ message_id: string; smsc_message_id: string; detail: string }>(
      'SELECT message_id, smsc_message_id, detail FROM w_strings.message_events ORDER BY toUInt32(substring(message_id, 2))',
    );
    assert.deepEqual(
      rows.map((r) => r.detail),
      nasty,
    );
    assert.deepEqual(
      rows.map((r) => r.smsc_message_id),
      nasty,
    );
  } finally {
    await writer.close();
    await store.close();
  }
});

test('a row that breaks the schema is rejected at write() and the rest of its batch still arrives', async () => {
  const store = await openStore(data.dir, { database: 'w_invalid' });
  const writer = createWriter({ store, logger, spillDir: join(data.dir, 'spill-invalid'), batchRows: 1000 });
  try {
    for (let i = 0; i < 10; i++) writer.write('decisions', buildDecision({ sid: `good-${i}` }));
    assert.throws(
      () => writer.write('decisions', buildDecision({ dwell_ms: -5 })),
      (err: unknown) =>
        isAppError(err, 'STORE_ROW_INVALID') &&
        err.message.startsWith('decisions.dwell_ms:') &&
        !err.retriable,
    );
    assert.throws(
      () => writer.write('decisions', { ...buildDecision(), fence: 'typo' }),
      (err: unknown) => isAppError(err, 'STORE_ROW_INVALID') && err.message.startsWith('decisions.fence:'),
    );
    assert.throws(
      () => writer.write('no_such_table', {}),
      (err: unknown) => isAppError(err, 'STORE_ROW_INVALID') && /no_such_table/.test(err.message),
    );
    for (let i = 10; i < 20; i++) writer.write('decisions', buildDecision({ sid: `good-${i}` }));
    await writer.flush();
    assert.equal(await count(store, 'decisions'), 20);
    assert.equal(writer.stats().rejectedRows, 2);
  } finally {
    await writer.close();
    await store.close();
  }
});

test('through a store outage every row arrives exactly once and the buffer pushes back instead of growing', async () => {
  const store = await openStore(data.dir, { database: 'w_outage' });
  const maxBufferedRows = 400;
  const writer = createWriter({
    store,
    logger,
    spillDir: join(data.dir, 'spill-outage'),
    batchRows: 100,
    flushMs: 20,
    maxBufferedRows,
    spillAfterMs: 300,
    maxBackoffMs: 100,
  });
  try {
    let next = 0;
    let pushedBack = 0;
    let maxSeen = 0;
    const writeMany = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const wait = writer.write('decisions', buildDecision({ sid: `s${next++}` }));
        maxSeen = Math.max(maxSeen, writer.stats().bufferedRows);
        if (wait) {
          pushedBack++;
          await wait;
        }
      }
    };
    await writeMany(300);
    await writer.flush();
    assert.equal(await count(store, 'decisions'), 300);

    await outage(store);
    const startedAt = Date.now();
    await writeMany(3000);
    const stats = writer.stats();
    assert.ok(pushedBack > 0, 'write() returned a promise while the store was down');
    assert.ok(maxSeen <= maxBufferedRows, `buffer grew to ${maxSeen}`);
    assert.ok(stats.failedAttempts > 0);
    assert.ok(stats.outage, 'writer reports the outage');
    assert.ok(stats.spilledRows > 0, 'batches went to the spill file');
    // Writes were held back until spilling began, not dropped.
    assert.ok(Date.now() - startedAt >= 250);

    await recover(store);
    await until(
      async () => !writer.stats().outage && (await count(store, 'decisions')) === 3300,
      15_000,
      'recovery and replay',
    );
    await writer.flush();
    const rows = await store.query<{ n: string; u: string }>(
      'SELECT count() AS n, uniqExact(sid) AS u FROM w_outage.decisions',
    );
    assert.deepEqual(rows[0], { n: 3300, u: 3300 });
    const s = writer.stats();
    assert.equal(s.replayedRows, s.spilledRows);
    assert.equal(s.insertedRows + s.replayedRows, 3300);
    assert.equal(s.bufferedRows, 0);
    // The report view counted each decision once too.
    const report = await store.query<{ t: string }>('SELECT sum(triggers) AS t FROM w_outage.report_hourly');
    assert.equal(Number(report[0].t), 3300);
  } finally {
    await writer.close();
    await store.close();
  }
});

test('a caller that ignores back-pressure is refused at twice the buffer size, and nothing buffered is lost', async () => {
  const store = await openStore(data.dir, { database: 'w_bound' });
  const writer = createWriter({
    store,
    logger,
    spillDir: join(data.dir, 'spill-bound'),
    batchRows: 50,
    maxBufferedRows: 100,
    spillAfterMs: 60_000,
    maxBackoffMs: 50,
  });
  try {
    await outage(store);
    let promises = 0;
    for (let i = 0; i < 200; i++) {
      if (writer.write('decisions', buildDecision({ sid: `b${i}` }))) promises++;
    }
    assert.equal(promises, 101, 'every write at or past the limit asked the caller to wait');
    assert.throws(
      () => writer.write('decisions', buildDecision({ sid: 'one-too-many' })),
      (err: unknown) => isAppError(err, 'STORE_BACKPRESSURE') && err.retriable,
    );
    assert.equal(writer.stats().bufferedRows, 200);
    await recover(store);
    await writer.flush();
    assert.equal(await count(store, 'decisions'), 200);
  } finally {
    await writer.close();
    await store.close();
  }
});

test('the spill file is replayed after a restart, and replaying it twice does not double count', async () => {
  const spillDir = join(data.dir, 'spill-restart');
  const config = { database: 'w_restart' };
  let store = await openStore(data.dir, config);
  const first = createWriter({
    store,
    logger,
    spillDir,
    batchRows: 50,
    flushMs: 20,
    spillAfterMs: 200,
    maxBackoffMs: 50,
  });
  await outage(store);
  for (let i = 0; i < 500; i++) first.write('decisions', buildDecision({ sid: `r${i}` }));
  await first.close();
  assert.equal(first.stats().spilledRows, 500);
  const files = await readdir(spillDir);
  assert.deepEqual(files, ['writer-spill.ndjson']);
  // Kept to replay a second time below, as if the process died after inserting but before deleting it.
  await copyFile(join(spillDir, files[0]), join(data.dir, 'spill-copy.ndjson'));
  await recover(store);
  await store.close();

  store = await openStore(data.dir, config);
  const second = createWriter({ store, logger, spillDir });
  await until(() => second.stats().replayedRows === 500, 10_000, 'replay on start');
  await second.close();
  assert.equal(await count(store, 'decisions'), 500);
  assert.deepEqual(await readdir(spillDir), []);

  await copyFile(join(data.dir, 'spill-copy.ndjson'), join(spillDir, 'writer-spill.ndjson'));
  const third = createWriter({ store, logger, spillDir });
  await until(() => third.stats().replayedRows === 500, 10_000, 'second replay');
  await third.close();
  try {
    assert.equal(await count(store, 'decisions'), 500);
    const report = await store.query<{ t: string }>('SELECT sum(triggers) AS t FROM w_restart.report_hourly');
    assert.equal(Number(report[0].t), 500);
  } finally {
    await store.close();
  }
});

test('a torn last line in the spill file is skipped and the batches before it are replayed', async () => {
  const spillDir = join(data.dir, 'spill-torn');
  const store = await openStore(data.dir, { database: 'w_torn' });
  const first = createWriter({ store, logger, spillDir, batchRows: 10, spillAfterMs: 100, maxBackoffMs: 20 });
  await outage(store);
  for (let i = 0; i < 30; i++) first.write('decisions', buildDecision({ sid: `t${i}` }));
  await first.close();
  await recover(store);
  const { appendFile } = await import('node:fs/promises');
  await appendFile(join(spillDir, 'writer-spill.ndjson'), '{"table":"decisions","colu');
  const second = createWriter({ store, logger, spillDir });
  await until(() => second.stats().replayedRows === 30, 10_000, 'replay');
  await sleep(50);
  await second.close();
  try {
    assert.equal(await count(store, 'decisions'), 30);
  } finally {
    await store.close();
  }
});

test('write() after close() is refused rather than lost', async () => {
  const store = await openStore(data.dir, { database: 'w_closed' });
  const writer = createWriter({ store, logger, spillDir: join(data.dir, 'spill-closed') });
  await writer.close();
  try {
    assert.throws(
      () => writer.write('decisions', buildDecision()),
      (err: unknown) => isAppError(err, 'STORE_UNAVAILABLE'),
    );
  } finally {
    await store.close();
  }
});

test('durable() resolves once earlier rows are inserted, on the next timed flush, without forcing one', async () => {
  const store = await openStore(data.dir, { database: 'w_durable' });
  const writer = createWriter({ store, logger, spillDir: join(data.dir, 'spill-durable'), flushMs: 600 });
  try {
    for (let i = 0; i < 30; i++) writer.write('decisions', buildDecision({ sid: `d${i}` }));
    let done = false;
    const t0 = Date.now();
    const p = writer.durable().then(() => {
      done = true;
    });
    await sleep(100);
    assert.equal(done, false, 'durable() must not force an insert of its own');
    assert.equal(writer.stats().insertedBatches, 0);
    await p;
    assert.equal(await count(store, 'decisions'), 30, 'every row written before durable() is in the table');
    assert.ok(Date.now() - t0 < 5_000);
  } finally {
    await writer.close();
    await store.close();
  }
});
