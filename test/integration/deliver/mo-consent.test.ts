import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { createConsentEngine } from '../../../src/consent/index.ts';
import {
  createDirectory,
  createSmppSender,
  createSmscSimulator,
  type DeliverySink,
  openOutbox,
  type Sender,
  type SmscSimulator,
  smppAccount,
  storeDeliverySink,
} from '../../../src/deliver/index.ts';
import { createStore, createWriter } from '../../../src/store/index.ts';
import { buildSms, PHONES, sleep, startRig, until } from './rig.ts';

const logger = pino({ level: process.env.TEST_LOG ?? 'silent' });
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

const SHORT_CODE = '7575';
const repliesTo = (sim: SmscSimulator, phone: string) =>
  sim.stats.submits.filter((s) => s.destination === phone && s.source === SHORT_CODE);

test('an MO STOP opts out through the consent engine, is confirmed once from the short code, and a repeat is recorded as such', async () => {
  const rows: { table: string; row: Record<string, any> }[] = [];
  const consent = createConsentEngine({
    logger,
    sink: { write: (table, row) => void rows.push({ table, row }) },
  });
  for (const i of [7, 8]) consent.optIn(`sid-${i}`, { source: 'web', evidence: 'form' }, Date.now() - 1000);
  const r = await startRig(
    {},
    {},
    {
      consentCheck: (sid, tenant) => consent.canSend(sid, tenant, Date.now()),
      sink: { write: (table, row) => void rows.push({ table, row }) },
      mo: { handle: (mo) => consent.handleMo(mo.sid, mo.text, mo.tsMs) },
    },
  );
  cleanups.push(() => r.close());
  await until(() => r.sender.status().accounts[0].bound === 1, 5000, 'bind');
  const phone = PHONES[7][1];

  await r.sim.injectMo({ from: phone, to: SHORT_CODE, text: ' Stop! ' });
  assert.equal(consent.check('sid-7', 'acme', Date.now()), 'opted_out', 'effective before the answer');
  await until(() => repliesTo(r.sim, phone).length === 1, 3000, 'the confirmation');
  const reply = repliesTo(r.sim, phone)[0];
  assert.match(reply.shortMessage.toString('latin1'), /unsubscribed/);
  assert.equal(reply.registeredDelivery, 1);

  // Marketing is blocked from now on; the confirmation was not marketing and went through.
  const blocked = await r.sender.send(buildSms(7));
  assert.equal(blocked.status, 'blocked');
  // Another subscriber is not affected.
  assert.equal((await r.sender.send(buildSms(8))).status, 'submitted');

  await r.sim.injectMo({ from: phone, to: SHORT_CODE, text: 'STOP' });
  await sleep(300);
  assert.equal(repliesTo(r.sim, phone).length, 1, 'a repeated STOP is not confirmed again');
  const mo = rows.filter((x) => x.table === 'mo_messages').map((x) => x.row);
  assert.deepEqual(
    mo.map((m) => [m.sid, m.keyword, m.action, m.short_code]),
    [
      ['sid-7', 'STOP', 'opt_out', SHORT_CODE],
      ['sid-7', 'STOP', 'opt_out_repeat', SHORT_CODE],
    ],
  );
  const consentRows = rows.filter((x) => x.table === 'consent' && x.row.status === 'opt_out');
  assert.equal(consentRows[0].row.sid, 'sid-7');
  assert.equal(consentRows[0].row.source, 'sms_keyword');
  // The confirmation is a message of no campaign: it never counts in a campaign's figures.
  const msgs = rows.filter((x) => x.table === 'messages' && x.row.sid === 'sid-7').map((x) => x.row);
  assert.ok(msgs.length > 0);
  assert.ok(msgs.every((m) => m.campaign_id === ''));
});

test('an MO is answered only once its effects are durable; one lost in a crash is delivered again and lands in ClickHouse', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'deliver-mo-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = await createStore({
    config: {
      user: 'default',
      password: '',
      database: 'deliver_mo',
      dataDir: dir,
      ttlDays: 30,
      minGroupSize: 1,
    },
    logger,
  });
  cleanups.push(() => store.close());
  const writer = createWriter({ store, logger, spillDir: join(dir, 'spill'), flushMs: 50 });
  cleanups.push(() => writer.close());
  const sim = await createSmscSimulator({ receiptDelayMs: 5, recordSubmits: true, receiptRetryMs: 50 });
  cleanups.push(() => sim.stop());
  const phone = PHONES[3][1];
  // First run: the store never confirms (the process dies before its rows are inserted).
  const optedInAt = Date.now() - 60_000;
  const never: DeliverySink = { write: () => undefined, durable: () => new Promise<void>(() => undefined) };

  const start = async (sink: DeliverySink) => {
    const outbox = await openOutbox({ dir: join(dir, 'outbox'), logger });
    // Consent rows go where the delivery rows go: the first run's never reach the store.
    const consent = createConsentEngine({
      logger,
      sink: sink === never ? { write: () => undefined } : writer,
    });
    // Both runs restore the same opt-in (loaded from the store in the service).
    consent.optIn('sid-3', { source: 'web', evidence: 'form' }, optedInAt);
    const handled: string[] = [];
    const sender: Sender = createSmppSender({
      accounts: [
        smppAccount({ port: sim.port, systemId: 'geo', tps: 0, responseTimeoutMs: 300, reconnectMinMs: 50 }),
      ],
      logger,
      directory: createDirectory(PHONES),
      outbox,
      sink,
      consentCheck: (sid, tenant) => consent.canSend(sid, tenant, Date.now()),
      mo: {
        handle: (mo) => {
          handled.push(mo.text);
          return consent.handleMo(mo.sid, mo.text, mo.tsMs);
        },
      },
    });
    await until(() => sender.status().accounts[0].bound === 1, 5000, 'bind');
    return { sender, outbox, handled, consent };
  };

  const first = await start(never);
  let answered = false;
  const injected = sim.injectMo({ from: phone, to: SHORT_CODE, text: 'СТОП' }).then(() => {
    answered = true;
  });
  await until(() => first.handled.length === 1, 3000, 'the first run handles the MO');
  await sleep(300);
  assert.equal(answered, false, 'not answered before its effects are durable');
  assert.equal(sim.stats.moAcked, 0);
  // The crash: the connection goes without an answer.
  sim.dropAll();
  await first.sender.close();
  await first.outbox.close();

  const second = await start(storeDeliverySink(store, writer));
  cleanups.push(async () => {
    await second.sender.close();
    await second.outbox.close();
  });
  await until(() => answered, 5000, 'the MO answered by the second run');
  await injected;
  assert.equal(second.handled.length, 1);
  assert.ok(sim.stats.moRedelivered >= 1);
  assert.equal(sim.stats.moAcked, 1);
  assert.equal(second.consent.check('sid-3', 'acme', Date.now()), 'opted_out');
  // Answered means durable: the rows are in ClickHouse already, no flush needed.
  const q = async (sql: string) =>
    (await (await store.client.query({ query: sql, format: 'JSONEachRow' })).json()) as Record<
      string,
      unknown
    >[];
  const mo = await q(`SELECT sid, keyword, action FROM deliver_mo.mo_messages`);
  assert.deepEqual(mo, [{ sid: 'sid-3', keyword: 'СТОП', action: 'opt_out' }]);
  const optOut = await q(`SELECT sid, source FROM deliver_mo.consent WHERE status = 'opt_out'`);
  assert.deepEqual(optOut, [{ sid: 'sid-3', source: 'sms_keyword' }]);
  // The first run sent the confirmation before it died; the redelivered STOP is not confirmed again.
  await sleep(300);
  assert.equal(repliesTo(sim, phone).length, 1, 'one confirmation across the crash');
});
