import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import {
  createDirectory,
  createSmppSender,
  createSmscSimulator,
  openOutbox,
  smppAccount,
} from '../../../src/deliver/index.ts';
import { createStore, createWriter } from '../../../src/store/index.ts';
import { until } from './rig.ts';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

test('messages, their events and MO replies end up in the store tables with the store writer as the sink', async () => {
  const logger = pino({ level: 'silent' });
  const dir = await mkdtemp(join(tmpdir(), 'deliver-store-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = await createStore({
    config: {
      user: 'default',
      password: '',
      database: 'deliver_sink',
      dataDir: dir,
      ttlDays: 30,
      minGroupSize: 1,
    },
    logger,
  });
  cleanups.push(() => store.close());
  const writer = createWriter({ store, logger, spillDir: join(dir, 'spill'), flushMs: 50 });
  cleanups.push(() => writer.close());
  const sim = await createSmscSimulator({ receiptDelayMs: 5 });
  cleanups.push(() => sim.stop());
  const outbox = await openOutbox({ dir: join(dir, 'deliver'), logger });
  cleanups.push(() => outbox.close());
  const sender = createSmppSender({
    accounts: [smppAccount({ port: sim.port, systemId: 'geo', tps: 0 })],
    logger,
    directory: createDirectory([
      ['sid-1', '380501000001'],
      ['sid-2', '380501000002'],
    ]),
    outbox,
    sink: { write: (table, row) => void writer.write(table, row) },
  });
  cleanups.push(() => sender.close());
  while (sender.status().accounts[0].bound === 0) await new Promise((r) => setTimeout(r, 5));

  const base = { campaignId: 'c1', fenceId: 'f1', storeId: 's1', tenant: 'acme', senderId: 'Shop' };
  const one = await sender.send({
    ...base,
    idempotencyKey: 'sid-1|c1|enter',
    sid: 'sid-1',
    text: 'Hello €5 off',
  });
  const two = await sender.send({
    ...base,
    idempotencyKey: 'sid-2|c1|enter',
    sid: 'sid-2',
    text: 'Знижка! '.repeat(12),
  });
  assert.equal(one.status, 'submitted');
  assert.equal(two.parts, 2);
  await sim.injectMo({ from: '380501000002', to: '7575', text: 'СТОП' });

  const db = store.database;
  await until(() => sim.stats.receiptsSent === 3, 5000, 'receipts');
  let rows: { message_id: string; status: string; parts: number; encoding: string }[] = [];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await writer.flush();
    rows = await store.query(
      `SELECT message_id, status, parts, encoding FROM ${db}.messages FINAL ORDER BY message_id`,
    );
    if (rows.length === 2 && rows.every((r) => r.status === 'delivered')) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(
    rows.map((r) => [r.message_id, r.status, Number(r.parts), r.encoding]).sort(),
    [
      [one.messageId, 'delivered', 1, 'GSM7'],
      [two.messageId, 'delivered', 2, 'UCS2'],
    ].sort(),
  );
  const parts = await store.query<{ n: string }>(
    `SELECT sum(parts) AS n FROM ${db}.message_events WHERE event = 'submitted'`,
  );
  assert.equal(Number(parts[0].n), 3);
  const mo = await store.query<{ sid: string; action: string; keyword: string }>(
    `SELECT sid, action, keyword FROM ${db}.mo_messages`,
  );
  assert.deepEqual(mo, [{ sid: 'sid-2', action: 'opt_out', keyword: 'СТОП' }]);
});
